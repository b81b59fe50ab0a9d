// keel serve's access set-up, end to end: the first admin token and its
// file, the CLI finding it, and the listen addresses keel refuses.
#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

TEST(Access, TheFirstStartWritesAPrivateTokenFileThatLaterStartsKeep) {
  KeelUnderTest keel;
  keel.start();
  std::string file = keel.db() + ".token";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string token = keel.token();
  ASSERT_EQ(token.rfind("keel_", 0), 0u);
  // Only the hash is in the database.
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM tokens WHERE hash LIKE '%" + token + "%'"),
            "0");
  EXPECT_EQ(queryText(keel.db(), "SELECT name FROM tokens"), "admin");

  httplib::Client anonymous(keel.url());
  auto refused = anonymous.Get("/api/v1/runs");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  auto res = keel.client()->Get("/api/v1/runs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  keel.stop();
  keel.start();
  EXPECT_EQ(keel.token(), token) << "a restart must not replace the admin token";
  EXPECT_EQ(keel.client()->Get("/api/v1/runs")->status, 200);
}

TEST(Access, TheCliReadsKeelDbTokenFromTheCurrentDirectory) {
  KeelUnderTest keel;
  keel.start();
  std::string cmd =
      "cd " + keel.dir().path() + " && " + KEEL_BINARY + " --server " + keel.url() + " runs 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::string out;
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_TRUE(contains(out, "ID")) << out;
}

TEST(Access, ExposedAddressesAreRefusedUnlessMadeSafe) {
  testing::TempDir dir;
  std::string db = dir.file("keel.db");
  auto noneOutside = serveUntilExit({"--db", db, "--listen", "0.0.0.0:0", "--auth", "none"});
  EXPECT_FALSE(noneOutside.served);
  EXPECT_EQ(noneOutside.exitCode, 78);  // EX_CONFIG
  EXPECT_TRUE(contains(noneOutside.output, "--auth none is allowed only on a loopback address"))
      << noneOutside.output;

  auto plainOutside = serveUntilExit({"--db", db, "--listen", "0.0.0.0:0"});
  EXPECT_FALSE(plainOutside.served);
  EXPECT_EQ(plainOutside.exitCode, 78);
  EXPECT_TRUE(contains(plainOutside.output, "--insecure-listen")) << plainOutside.output;
  EXPECT_FALSE(std::filesystem::exists(db)) << "a refused start must not create the database";

  auto halfTls = serveUntilExit({"--db", db, "--tls-cert", dir.file("c.pem")});
  EXPECT_EQ(halfTls.exitCode, 78);
  EXPECT_TRUE(contains(halfTls.output, "--tls-cert and --tls-key go together")) << halfTls.output;

  auto insecure = serveUntilExit({"--db", db, "--listen", "0.0.0.0:0", "--insecure-listen"});
  EXPECT_TRUE(insecure.served) << insecure.output;

  auto noneLocal = serveUntilExit({"--db", db, "--listen", "127.0.0.1:0", "--auth", "none"});
  EXPECT_TRUE(noneLocal.served) << noneLocal.output;
  EXPECT_TRUE(contains(noneLocal.output, "WARNING: --auth none")) << noneLocal.output;
}

TEST(Access, ATokenFileWithoutItsDatabaseIsRefused) {
  testing::TempDir dir;
  std::string db = dir.file("keel.db");
  testing::writeFile(db + ".token", "keel_left-over\n");
  auto refused = serveUntilExit({"--db", db, "--listen", "127.0.0.1:0"});
  EXPECT_FALSE(refused.served);
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_TRUE(contains(refused.output, db + ".token")) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(db));
  auto init = serveUntilExit({"--db", db, "--listen", "127.0.0.1:0", "--init"});
  EXPECT_TRUE(init.served) << init.output;
  std::string token = testing::readFile(db + ".token");
  EXPECT_NE(token, "keel_left-over\n") << "--init makes a new database with a new token";
}

}  // namespace
}  // namespace keel::e2e
