#include "store/sqlite/read_pool.h"

namespace keel::store::sqlite {

ReadPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->release(std::move(conn_));
}

Result<ReadPool::Lease> ReadPool::acquire() {
  {
    std::unique_lock lock(mu_);
    returned_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(conn));
    }
    ++open_;  // reserve the slot; open outside the lock
  }
  auto conn = Connection::open(path_, Connection::Mode::kReadOnly, busyTimeoutMs_);
  if (!conn.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    returned_.notify_one();
    return conn.error();
  }
  return Lease(*this, std::move(*conn));
}

void ReadPool::release(std::unique_ptr<Connection> conn) {
  // A read that failed half way may have left its transaction open.
  conn->rollback();
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(conn));
  returned_.notify_one();
}

}  // namespace keel::store::sqlite
