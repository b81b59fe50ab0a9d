// Who may reach the API: tokens on every /api/v1 route, Host and Origin
// checks, media types, strict query strings, token management.
#include <set>

#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

// A concrete path for a route pattern.
std::string concrete(const std::string& pattern) {
  std::string out = pattern;
  for (auto [from, to] : {std::pair{"{id}", kRunIds[2]}, std::pair{"{step}", "greet"},
                          std::pair{"{name}", "hello"}, std::pair{"{topic}", "files.arrived"}}) {
    auto at = out.find(from);
    if (at != std::string::npos) out.replace(at, std::string(from).size(), to);
  }
  return out;
}

httplib::Result send(httplib::Client& c, const std::string& method, const std::string& path) {
  if (method == "GET") return c.Get(path.c_str());
  return c.Post(path.c_str(), "{}", "application/json");
}

TEST_F(ServerTest, EveryApiRouteNeedsAToken) {
  start();
  Router probe;
  SystemClock clock;
  RouteContext context{control_, store_, std::chrono::milliseconds(100), clock};
  addWorkflowRoutes(probe, context);
  addRunRoutes(probe, context);
  addStepRoutes(probe, context);
  addTokenRoutes(probe, context);
  addEventRoutes(probe, context);
  auto routes = probe.routes();
  ASSERT_GE(routes.size(), 13u);
  auto anonymous = anonymousClient();
  auto foreign = anonymousClient();
  foreign.set_bearer_token_auth("keel_a-token-of-another-server");
  auto basic = anonymousClient();
  basic.set_basic_auth("admin", kTestToken);
  for (const auto& route : routes) {
    SCOPED_TRACE(route.method + " " + route.pattern);
    ASSERT_EQ(route.pattern.rfind("/api/v1/", 0), 0u);
    EXPECT_FALSE(route.options.open);
    for (auto* c : {&anonymous, &foreign, &basic}) {
      auto res = send(*c, route.method, concrete(route.pattern));
      expectError(res, 401, "unauthenticated");
      EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"keel\"");
    }
  }
  EXPECT_EQ(control_.triggers().size(), 0u);
  EXPECT_EQ(control_.emits().size(), 0u);
  for (const char* open : {"/healthz", "/readyz", "/metrics"}) {
    auto res = anonymous.Get(open);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << open;
  }
}

TEST_F(ServerTest, ARevokedTokenStopsWorkingAtOnce) {
  store_.tokens.push_back(
      {"second", auth::tokenHash("keel_second"), "admin", at(kT0), "tester", std::nullopt});
  start();
  auto res = post("/api/v1/tokens/tester/revoke", "");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_FALSE(body(res)["revoked_at"].is_null());
  expectError(get("/api/v1/runs"), 401, "unauthenticated");
}

TEST_F(ServerTest, TokensAreCreatedShownOnceListedWithoutSecretsAndRevoked) {
  start();
  auto created = post("/api/v1/tokens", R"({"name":"ci-deploy"})");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  auto j = body(created);
  EXPECT_EQ(j["name"], "ci-deploy");
  EXPECT_EQ(j["created_by"], "tester");
  std::string secret = j["token"];
  EXPECT_EQ(secret.rfind("keel_", 0), 0u);

  auto ci = anonymousClient();
  ci.set_bearer_token_auth(secret);
  auto listed = ci.Get("/api/v1/tokens");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200);
  EXPECT_EQ(listed->body.find(secret), std::string::npos);
  EXPECT_EQ(listed->body.find(auth::tokenHash(secret)), std::string::npos);
  std::set<std::string> names;
  auto listedJson = body(listed);
  for (const auto& t : listedJson["tokens"]) names.insert(t["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"ci-deploy", "tester"}));

  expectError(post("/api/v1/tokens", R"({"name":"ci-deploy"})"), 409, "already_exists");
  expectError(post("/api/v1/tokens", R"({"name":"Bad Name"})"), 400, "invalid_argument");
  expectError(post("/api/v1/tokens", R"({"name":"x","role":"root"})"), 400, "invalid_argument");
  expectError(post("/api/v1/tokens", R"({})"), 400, "invalid_argument");

  auto revoked = ci.Post("/api/v1/tokens/ci-deploy/revoke", "", "application/json");
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->status, 200) << revoked->body;
  auto after = ci.Get("/api/v1/runs");
  expectError(after, 401, "unauthenticated");
  expectError(post("/api/v1/tokens/nobody/revoke", ""), 404, "not_found");
  // The last working admin token stays.
  expectError(post("/api/v1/tokens/tester/revoke", ""), 409, "conflict");
  ASSERT_TRUE(get("/api/v1/runs"));
  EXPECT_EQ(get("/api/v1/runs")->status, 200);
}

TEST_F(ServerTest, WithAuthNoneRequestsNeedNoTokenAndActAsAnonymous) {
  ServerOptions options;
  options.access.auth = AuthMode::kNone;
  start(options);
  auto res = anonymousClient().Post("/api/v1/tokens", R"({"name":"made-anonymously"})",
                                    "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(body(res)["created_by"], "anonymous");
}

TEST_F(ServerTest, CrossOriginRequestsAreRefused) {
  start();
  auto c = client();
  std::string own = "http://127.0.0.1:" + std::to_string(port_);
  for (std::string origin :
       {std::string("http://evil.example"), std::string("null"), std::string("http://127.0.0.1:1"),
        std::string("https://127.0.0.1:") + std::to_string(port_)}) {
    SCOPED_TRACE(origin);
    auto res =
        c.Post("/api/v1/workflows/hello/runs", {{"Origin", origin}}, "{}", "application/json");
    expectError(res, 403, "permission_denied");
  }
  expectError(c.Post("/api/v1/workflows/hello/runs", {{"Sec-Fetch-Site", "cross-site"}}, "{}",
                     "application/json"),
              403, "permission_denied");
  EXPECT_EQ(control_.triggers().size(), 0u);
  for (std::string origin : {own, "http://localhost:" + std::to_string(port_)}) {
    auto res =
        c.Post("/api/v1/workflows/hello/runs", {{"Origin", origin}}, "{}", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201) << origin << " " << res->body;
  }
}

TEST_F(ServerTest, AnAllowedOriginIsAccepted) {
  ServerOptions options;
  options.access.allowedOrigins = {"https://keel.example.com/"};
  start(options);
  auto res = client().Post("/api/v1/workflows/hello/runs",
                           {{"Origin", "https://keel.example.com"}, {"Host", "keel.example.com"}},
                           "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body;
}

TEST_F(ServerTest, ALoopbackServerAnswersOnlyToLoopbackNames) {
  start();
  auto c = client();
  // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1.
  std::string host = "evil.example:" + std::to_string(port_);
  expectError(c.Get("/api/v1/runs", {{"Host", host}}), 403, "permission_denied");
  expectError(c.Get("/healthz", {{"Host", host}}), 403, "permission_denied");
  for (std::string name : {"localhost", "127.0.0.1", "127.1.2.3", "[::1]", "LOCALHOST"}) {
    auto res = c.Get("/api/v1/runs", {{"Host", name + ":" + std::to_string(port_)}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << name;
  }
}

TEST_F(ServerTest, MutationsTakeOnlyTheirDocumentedMediaTypes) {
  start();
  auto c = client();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x", "application/yaml"}) {
    SCOPED_TRACE(type);
    expectError(c.Post("/api/v1/workflows/hello/runs", "{}", type), 415, "unsupported_media_type");
    expectError(c.Post(std::string("/api/v1/runs/") + kRunIds[2] + "/cancel", "", type), 415,
                "unsupported_media_type");
  }
  expectError(c.Post("/api/v1/workflows", "name: hello\n", "text/plain"), 415,
              "unsupported_media_type");
  expectError(c.Post("/api/v1/workflows", "name: hello\n", "application/json"), 415,
              "unsupported_media_type");
  EXPECT_EQ(control_.triggers().size(), 0u);
  EXPECT_EQ(control_.applies().size(), 0u);
  auto ok = c.Post("/api/v1/workflows/hello/runs", "{}", "Application/JSON; charset=utf-8");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201) << ok->body;
}

TEST_F(ServerTest, UnknownOrRepeatedQueryParametersAre400) {
  start();
  expectError(get("/api/v1/runs?limt=5"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?limit=5&limit=6"), 400, "invalid_argument");
  expectError(get("/api/v1/workflows?x=1"), 400, "invalid_argument");
  expectError(get(std::string("/api/v1/runs/") + kRunIds[2] + "?verbose=1"), 400,
              "invalid_argument");
  auto fine = get("/api/v1/runs?limit=5&state=failed");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200) << fine->body;
}

TEST_F(ServerTest, EmptyIdempotencyKeysAndRelativeSourcesAre400) {
  start();
  expectError(post("/api/v1/workflows/hello/runs", R"({"idempotency_key":""})"), 400,
              "invalid_argument");
  auto header = rawExchange(
      port_, std::string("POST /api/v1/workflows/hello/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                 "Authorization: Bearer " + kTestToken +
                 "\r\nIdempotency-Key:\r\nContent-Type: application/json\r\n"
                 "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_EQ(header.rfind("HTTP/1.1 400", 0), 0u) << header;
  EXPECT_EQ(control_.triggers().size(), 0u);
  for (const char* source : {"hello.yaml", "../etc/x.yaml", ""}) {
    auto res = client().Post("/api/v1/workflows", {{"X-Keel-Source", source}}, "name: hello\n",
                             "application/yaml");
    expectError(res, 400, "invalid_argument");
  }
  EXPECT_EQ(control_.applies().size(), 0u);
}

}  // namespace
}  // namespace keel::api::test
