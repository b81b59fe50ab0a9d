// Binding on a Statement: what may be bound without a copy, and what an
// empty text becomes.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include <string>
#include <string_view>

#include "store/sqlite/connection.h"
#include "store/sqlite/statement.h"
#include "testing/temp_dir.h"

namespace keel::store::sqlite {
namespace {

// A temporary string would be freed before the statement runs: binding one
// must not compile (a named string, a view, a literal or a copy may).
template <typename S>
concept BindsTemporaryText = requires(S& s) {
  s.bind(1, std::string("gone"));
};
template <typename S>
concept BindsTemporaryBlob = requires(S& s) {
  s.bindBlob(1, std::string("gone"));
};
template <typename S>
concept BindsTemporaryTextOrNull = requires(S& s) {
  s.bindTextOrNull(1, std::string("gone"));
};
template <typename S>
concept BindsWhatLives = requires(S& s, const std::string& kept) {
  s.bind(1, kept);
  s.bind(1, std::string_view("view"));
  s.bind(1, "literal");
  s.bindCopy(1, std::string("copied"));
};
static_assert(!BindsTemporaryText<Statement>);
static_assert(!BindsTemporaryBlob<Statement>);
static_assert(!BindsTemporaryTextOrNull<Statement>);
static_assert(BindsWhatLives<Statement>);

class StatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Connection::open(dir_.file("t.db"), Connection::Mode::kReadWrite, 1000);
    ASSERT_TRUE(c.ok()) << c.error().toString();
    conn_ = std::move(*c);
    ASSERT_TRUE(conn_->exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
  }

  // What row k holds: its text, "NULL", or "missing".
  std::string valueOf(int k) {
    auto s = conn_->cached("SELECT v FROM t WHERE k = ?1");
    EXPECT_TRUE(s.ok());
    (*s)->bind(1, k);
    auto row = (*s)->next();
    EXPECT_TRUE(row.ok());
    if (!row.ok() || !*row) return "missing";
    return (*s)->isNull(0) ? "NULL" : (*s)->textAt(0);
  }

  void insert(int k, const std::function<void(Statement&)>& bindValue) {
    auto s = conn_->cached("INSERT INTO t (k, v) VALUES (?1, ?2)");
    ASSERT_TRUE(s.ok());
    (*s)->bind(1, k);
    bindValue(**s);
    auto done = (*s)->next();
    ASSERT_TRUE(done.ok()) << done.error().toString();
  }

  testing::TempDir dir_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(StatementTest, AnEmptyTextIsEmptyEvenWithoutADataPointer) {
  insert(1, [](Statement& s) { s.bind(2, std::string_view()); });
  insert(2, [](Statement& s) { s.bindTextOrNull(2, std::string_view()); });
  insert(3, [](Statement& s) { s.bindCopy(2, std::string_view()); });
  EXPECT_EQ(valueOf(1), "");
  EXPECT_EQ(valueOf(2), "NULL");
  EXPECT_EQ(valueOf(3), "");
}

TEST_F(StatementTest, ACopyOutlivesTheTextItWasMadeFrom) {
  insert(1, [](Statement& s) {
    std::string made(100, 'x');  // on the heap, freed before the statement runs
    s.bindCopy(2, made);
  });
  EXPECT_EQ(valueOf(1), std::string(100, 'x'));
}

}  // namespace
}  // namespace keel::store::sqlite
