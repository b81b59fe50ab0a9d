// Notification channels and notifications (tables channels and
// notifications, schema 16). Each function runs on the connection it is
// given; none is thread-safe. insertChannel and redeliverDeadNotifications
// open their own transaction (the caller holds the writer's turn);
// insertNotification and updateNotification run inside the writer's open
// transaction (a Batch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// `beforeCommit` runs in the transaction once a new version is inserted (not
// for a document applied again unchanged), or once a notification changed.
Result<ChannelRow> insertChannel(Connection& conn, const ChannelRow& row,
                                 const BeforeCommit& beforeCommit = {});
Result<std::vector<ChannelRow>> selectChannels(Connection& conn);
Status insertNotification(Connection& conn, const NotificationRow& row);
Status updateNotification(Connection& conn, const NotificationRow& row);
Result<std::vector<NotificationRow>> selectDueNotifications(Connection& conn, WallTime now,
                                                            int limit);
Result<std::optional<WallTime>> selectNextNotificationAt(Connection& conn);
Result<std::vector<NotificationRow>> selectNotifications(Connection& conn, const std::string& state,
                                                         int limit);
Result<std::optional<NotificationRow>> selectNotification(Connection& conn, const std::string& id);
Result<int64_t> countNotificationsIn(Connection& conn, const std::string& state);
Result<int64_t> redeliverDeadNotifications(Connection& conn, const std::string& id, WallTime at,
                                           const BeforeCommit& beforeCommit = {});

}  // namespace keel::store::sqlite
