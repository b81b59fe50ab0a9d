// ReadPool: a few read-only connections, so API reads run concurrently
// with each other and with the writer (WAL lets readers see the last
// committed state while a write transaction is open).
//
// acquire() lends a connection for the duration of one read; it opens a
// new one while fewer than `maxConnections` exist and otherwise waits for
// one to come back. Each connection keeps its own prepared statements.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

class ReadPool {
 public:
  ReadPool(std::string path, size_t maxConnections, int busyTimeoutMs)
      : path_(std::move(path)), max_(maxConnections), busyTimeoutMs_(busyTimeoutMs) {}

  class Lease {
   public:
    Lease(ReadPool& pool, std::unique_ptr<Connection> conn)
        : pool_(&pool), conn_(std::move(conn)) {}
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    ReadPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Result<Lease> acquire();

 private:
  void release(std::unique_ptr<Connection> conn);

  const std::string path_;
  const size_t max_;
  const int busyTimeoutMs_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  size_t open_ = 0;                                // idle + lent; guarded by mu_
};

}  // namespace keel::store::sqlite
