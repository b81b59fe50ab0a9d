// Webhook subscriptions and their deliveries (tables subscriptions and
// webhook_deliveries, schema 9). Each function runs on the connection it is
// given; none is thread-safe. insertSubscription and redeliverDead open
// their own transaction (the caller holds the writer's turn);
// upsertWebhookDelivery runs inside the writer's open transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// `beforeCommit` runs in the transaction once a new version is inserted
// (not for a document applied again unchanged).
Result<SubscriptionRow> insertSubscription(Connection& conn, const SubscriptionRow& row,
                                           const BeforeCommit& beforeCommit = {});
Result<std::vector<SubscriptionRow>> selectSubscriptions(Connection& conn);
Status upsertWebhookDelivery(Connection& conn, const WebhookDeliveryRow& row);
Result<int64_t> selectLastWebhookSeq(Connection& conn, const std::string& subscription);
Result<std::optional<WebhookDeliveryRow>> selectFirstPendingWebhook(
    Connection& conn, const std::string& subscription);
Result<std::vector<WebhookDeliveryRow>> selectWebhookDeliveries(Connection& conn,
                                                                const std::string& state,
                                                                int limit);
Result<int64_t> countWebhookDeliveriesIn(Connection& conn, const std::string& state);
Result<int64_t> redeliverDeadWebhooks(Connection& conn, const std::string& eventId,
                                      const std::string& topic, WallTime at,
                                      const BeforeCommit& beforeCommit = {});

}  // namespace keel::store::sqlite
