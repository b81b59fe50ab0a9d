#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "auth/authenticator.h"
#include "auth/bootstrap.h"
#include "auth/token.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keel::auth {
namespace {

using testing::TempDir;

const WallTime kNow = WallTime(std::chrono::seconds(1'767'225'600));

std::unique_ptr<store::Store> openStore(const TempDir& dir, const std::string& name = "keel.db") {
  auto s = store::openSqliteStore(dir.file(name));
  EXPECT_TRUE(s.ok()) << s.error().toString();
  return std::move(*s);
}

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

TEST(TokenSecret, IsPrefixedUrlSafeAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto s = newTokenSecret();
    ASSERT_EQ(s.rfind("keel_", 0), 0u) << s;
    EXPECT_EQ(s.size(), 5u + 43u) << s;
    for (char c : s.substr(5))
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(TokenHash, IsHexSha256) {
  EXPECT_EQ(tokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(tokenHash("keel_a"), tokenHash("keel_b"));
}

TEST(TokenName, AcceptsIdentifiersAndRefusesTheRest) {
  for (const char* ok : {"admin", "ci-deploy", "ops.alice", "a", "0day"})
    EXPECT_TRUE(checkTokenName(ok).ok()) << ok;
  for (std::string bad :
       {std::string(""), std::string("Admin"), std::string("-x"), std::string("a b"),
        std::string("a\nb"), std::string(65, 'a'), std::string("x\0y", 3), std::string("é")}) {
    auto st = checkTokenName(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(st.error().message().find('\n'), std::string::npos) << st.error().message();
  }
}

TEST(AdminToken, FirstStartWritesAPrivateFileAndStoresOnlyTheHash) {
  TempDir dir;
  auto store = openStore(dir);
  std::string file = dir.file("keel.db.token");
  auto created = ensureAdminToken(*store, file, kNow);
  ASSERT_TRUE(created.ok()) << created.error().toString();
  EXPECT_TRUE(*created);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string secret = trimmed(testing::readFile(file));
  auto tokens = store->listTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].name, "admin");
  EXPECT_EQ((*tokens)[0].hash, tokenHash(secret));
  EXPECT_NE((*tokens)[0].hash, secret);

  // A later start writes nothing.
  auto again = ensureAdminToken(*store, file, kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(trimmed(testing::readFile(file)), secret);
}

TEST(AdminToken, ReplacesASymlinkInsteadOfWritingThroughIt) {
  TempDir dir;
  auto store = openStore(dir);
  std::string victim = dir.file("victim");
  testing::writeFile(victim, "precious\n");
  std::string file = dir.file("keel.db.token");
  ASSERT_EQ(::symlink(victim.c_str(), file.c_str()), 0);
  ASSERT_TRUE(ensureAdminToken(*store, file, kNow).ok());
  EXPECT_EQ(testing::readFile(victim), "precious\n");
  struct stat st {};
  ASSERT_EQ(::lstat(file.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(Authenticator, KnowsLiveTokensOnly) {
  TempDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(ensureAdminToken(*store, dir.file("t"), kNow).ok());
  std::string secret = trimmed(testing::readFile(dir.file("t")));
  Authenticator auth(*store);

  auto who = auth.authenticate("Bearer " + secret);
  ASSERT_TRUE(who.ok()) << who.error().toString();
  EXPECT_EQ(who->name, "admin");
  EXPECT_TRUE(auth.authenticate("bearer  " + secret + " ").ok());

  for (std::string bad : {std::string(""), "Basic " + secret, std::string("Bearer "),
                          "Bearer " + secret + "x", std::string("Bearer keel_nope"), secret}) {
    auto r = auth.authenticate(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated) << bad;
  }

  // A token of another server is unknown here.
  TempDir other;
  auto otherStore = openStore(other);
  ASSERT_TRUE(ensureAdminToken(*otherStore, other.file("t"), kNow).ok());
  auto foreign = auth.authenticate("Bearer " + trimmed(testing::readFile(other.file("t"))));
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code(), ErrorCode::kUnauthenticated);

  // Revoked: refused at once.
  ASSERT_TRUE(
      store->putToken({"second", tokenHash("keel_2"), "admin", kNow, "admin", std::nullopt}).ok());
  ASSERT_TRUE(store->revokeToken("admin", kNow).ok());
  auto revoked = auth.authenticate("Bearer " + secret);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code(), ErrorCode::kUnauthenticated);
}

TEST(TokenStore, NamesAreNeverReused) {
  TempDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(
      store->putToken({"admin", tokenHash("keel_a"), "admin", kNow, "keel", std::nullopt}).ok());
  store::TokenRow row{"ci", tokenHash("keel_x"), "admin", kNow, "admin", std::nullopt};
  ASSERT_TRUE(store->putToken(row).ok());
  auto dup = store->putToken(row);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store->revokeToken("ci", kNow).ok());
  row.hash = tokenHash("keel_y");
  auto reused = store->putToken(row);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code(), ErrorCode::kAlreadyExists);
  auto missing = store->revokeToken("nobody", kNow);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(TokenStore, TheLastWorkingAdminTokenCannotBeRevoked) {
  TempDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(
      store->putToken({"admin", tokenHash("keel_a"), "admin", kNow, "keel", std::nullopt}).ok());
  auto last = store->revokeToken("admin", kNow);
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().code(), ErrorCode::kConflict);
  auto tokens = store->listTokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_FALSE((*tokens)[0].revokedAt.has_value());
  // With a second one it can go, and revoking it again changes nothing.
  ASSERT_TRUE(
      store->putToken({"ops", tokenHash("keel_o"), "admin", kNow, "admin", std::nullopt}).ok());
  auto revoked = store->revokeToken("admin", kNow);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->revokedAt, kNow);
  EXPECT_TRUE(store->revokeToken("admin", kNow + std::chrono::seconds(5)).ok());
  EXPECT_FALSE(store->revokeToken("ops", kNow).ok());
}

}  // namespace
}  // namespace keel::auth
