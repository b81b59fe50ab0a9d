#include "spec/http_step.h"

#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using nlohmann::json;
using testing::hasProblem;
using testing::joined;
using testing::problemsOf;

// A context with these params and step outputs.
struct Ctx {
  json params = json::object();
  std::map<std::string, json> outputs;
  TemplateContext get() {
    TemplateContext c;
    c.params = &params;
    c.stepOutputs = &outputs;
    c.runId = "r-1";
    c.workflow = "wf";
    return c;
  }
};

HttpSpec spec(std::string url) {
  HttpSpec s;
  s.url = std::move(url);
  return s;
}

std::string urlWith(const std::string& tmpl, const std::string& value) {
  Ctx c;
  c.params["v"] = value;
  auto r = renderHttpRequest(spec(tmpl), c.get());
  return r.ok() ? r->url : "ERROR: " + r.error().message();
}

TEST(HttpUrl, PathValuesStayOneSegment) {
  const std::string t = "https://api.example.com/orders/{{ params.v }}/lines";
  EXPECT_EQ(urlWith(t, "2026-11-23"), "https://api.example.com/orders/2026-11-23/lines");
  EXPECT_EQ(urlWith(t, "a/b"), "https://api.example.com/orders/a%2Fb/lines");
  EXPECT_EQ(urlWith(t, "../admin"), "https://api.example.com/orders/..%2Fadmin/lines");
  EXPECT_EQ(urlWith(t, "x&y=z"), "https://api.example.com/orders/x%26y%3Dz/lines");
  EXPECT_EQ(urlWith(t, "a#b?c"), "https://api.example.com/orders/a%23b%3Fc/lines");
  EXPECT_EQ(urlWith(t, "a b+c"), "https://api.example.com/orders/a%20b%2Bc/lines");
  EXPECT_EQ(urlWith(t, "caf\xC3\xA9"), "https://api.example.com/orders/caf%C3%A9/lines");
  EXPECT_EQ(urlWith(t, "50%"), "https://api.example.com/orders/50%25/lines");
  EXPECT_EQ(urlWith(t, "%2E%2E"), "https://api.example.com/orders/%252E%252E/lines");
  EXPECT_EQ(urlWith(t, "a\\b"), "https://api.example.com/orders/a%5Cb/lines");
}

TEST(HttpUrl, DotSegmentsFromValuesAreBadInput) {
  const std::string t = "https://api.example.com/orders/{{ params.v }}/lines";
  EXPECT_NE(urlWith(t, "..").find("ERROR: http.url: {{ params.v }}: the value \"..\""),
            std::string::npos)
      << urlWith(t, "..");
  EXPECT_NE(urlWith(t, ".").find("ERROR:"), std::string::npos);
  // A value that makes ".." with the text around it.
  Ctx c;
  c.params["a"] = "";
  auto r = renderHttpRequest(spec("https://h/x/..{{ params.a }}/y"), c.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("path segment \"..\""), std::string::npos);
  // In a segment with other text, dots are harmless; a value that is
  // exactly "." or ".." is refused wherever it is in the path.
  EXPECT_EQ(urlWith("https://h/x/{{ params.v }}.csv", "..a"), "https://h/x/..a.csv");
  EXPECT_NE(urlWith("https://h/x/{{ params.v }}.csv", "..").find("ERROR:"), std::string::npos);
}

TEST(HttpUrl, QueryValuesStayOneComponent) {
  const std::string t = "https://h/orders?region={{ params.v }}&limit=10";
  EXPECT_EQ(urlWith(t, "eu"), "https://h/orders?region=eu&limit=10");
  EXPECT_EQ(urlWith(t, "eu&admin=1"), "https://h/orders?region=eu%26admin%3D1&limit=10");
  EXPECT_EQ(urlWith(t, "a b+c#frag"), "https://h/orders?region=a%20b%2Bc%23frag&limit=10");
  EXPECT_EQ(urlWith(t, "../x/y"), "https://h/orders?region=..%2Fx%2Fy&limit=10");
  EXPECT_EQ(urlWith(t, ".."), "https://h/orders?region=..&limit=10");
  EXPECT_EQ(urlWith(t, "\xE2\x82\xAC"), "https://h/orders?region=%E2%82%AC&limit=10");
  EXPECT_EQ(urlWith(t, ""), "https://h/orders?region=&limit=10");
}

TEST(HttpUrl, NumbersAndRunValuesAreEncodedToo) {
  Ctx c;
  c.outputs["load"] = json{{"n", 42}, {"obj", {{"a", "b c"}}}};
  auto r = renderHttpRequest(
      spec("http://h:8080/r/{{ run.id }}/{{ steps.load.output.n }}?o={{ steps.load.output.obj }}"),
      c.get());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->url, "http://h:8080/r/r-1/42?o=%7B%22a%22%3A%22b%20c%22%7D");
}

TEST(HttpUrl, NulAndMissingValuesAreBadInput) {
  auto nul = urlWith("https://h/x/{{ params.v }}", std::string("a\0b", 3));
  EXPECT_NE(nul.find("ERROR: http.url: {{ params.v }}: the value contains a NUL byte at offset 1"),
            std::string::npos)
      << nul;
  Ctx c;
  auto r = renderHttpRequest(spec("https://h/x/{{ params.nope }}"), c.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("missing param 'nope'"), std::string::npos);
}

TEST(HttpUrl, TemplateProblems) {
  EXPECT_FALSE(urlTemplateProblem("https://h.example.com:8443/a/{{ params.x }}?q={{ params.y }}"));
  EXPECT_FALSE(urlTemplateProblem("http://[::1]:8080/"));
  EXPECT_FALSE(urlTemplateProblem("http://h"));
  struct Case {
    const char* url;
    const char* fragment;
    bool inHost;
  } cases[] = {
      {"ftp://h/x", "\"ftp://h/x\" must start with http:// or https://", false},
      {"{{ params.url }}", "a template cannot give the scheme or the host", true},
      {"https://{{ params.host }}/x", "a template in the host or port", true},
      {"https://api.example.com{{ params.p }}", "a template in the host or port", true},
      {"https://h:{{ params.port }}/x", "a template in the host or port", true},
      {"https://h.{{ params.tenant }}.example.com/x", "a template in the host or port", true},
      {"https:///x", "the URL has no host", false},
      {"https://user:pw@h/x", "user names and passwords in the URL", false},
      {"https://h:99999/x", "invalid port \"99999\"", false},
      {"https://h:/x", "empty port", false},
      {"https://h_h/x", "invalid host \"h_h\"", false},
      {"https://h/x#top", "a fragment", false},
      {"https://h/a b", "must be percent-encoded", false},
      {"https://h/a\"b", "'\"' must be percent-encoded", false},
      {"https://h/a%zz", "'%' must start a %XX escape", false},
      {"https://h/a/../b", "the path has a '..' segment", false},
      {"https://h/./b", "the path has a '.' segment", false},
      {"https://h/a/%2e%2E/b", "the path has a '%2e%2E' segment", false},
  };
  for (const auto& c : cases) {
    auto p = urlTemplateProblem(c.url);
    ASSERT_TRUE(p.has_value()) << c.url;
    EXPECT_NE(p->message.find(c.fragment), std::string::npos) << c.url << ": " << p->message;
    EXPECT_EQ(p->inHost, c.inHost) << c.url;
  }
}

TEST(HttpJson, WholeTemplatesKeepTheirTypeTextIsAString) {
  Ctx c;
  c.params["date"] = "2026-11-23";
  c.params["n"] = "007";
  c.outputs["load"] = json{{"rows", 1234},
                           {"list", {1, "two", nullptr}},
                           {"ok", true},
                           {"text", "say \"hi\" \\ & <b>\n\t\x01"}};
  HttpSpec s = spec("https://h/x");
  s.method = "POST";
  s.json = json{{"date", "{{ params.date }}"},
                {"n", "{{params.n}}"},
                {"rows", "{{ steps.load.output.rows }}"},
                {"list", "{{ steps.load.output.list }}"},
                {"ok", "{{ steps.load.output.ok }}"},
                {"text", "{{ steps.load.output.text }}"},
                {"mixed", "rows={{ steps.load.output.rows }} on {{ params.date }}"},
                {"quoted", "\"{{ steps.load.output.text }}\""},
                {"nested", {{"ids", {"{{ run.id }}", 7, false}}}},
                {"literal", 3.5}};
  auto r = renderHttpRequest(s, c.get());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->contentType, "application/json");
  auto body = json::parse(r->body);
  EXPECT_EQ(body["date"], "2026-11-23");
  EXPECT_EQ(body["n"], "007");  // params are strings, never guessed numbers
  EXPECT_EQ(body["rows"], 1234);
  EXPECT_EQ(body["list"], json({1, "two", nullptr}));
  EXPECT_EQ(body["ok"], true);
  EXPECT_EQ(body["text"], "say \"hi\" \\ & <b>\n\t\x01");
  EXPECT_EQ(body["mixed"], "rows=1234 on 2026-11-23");
  EXPECT_EQ(body["quoted"], "\"say \"hi\" \\ & <b>\n\t\x01\"");
  EXPECT_EQ(body["nested"]["ids"], json({"r-1", 7, false}));
  EXPECT_EQ(body["literal"], 3.5);
  // The text itself: escapes as JSON writes them, nothing pasted raw.
  EXPECT_NE(r->body.find(R"("text":"say \"hi\" \\ & <b>\n\t\u0001")"), std::string::npos)
      << r->body;
  EXPECT_EQ(r->body.find('\n'), std::string::npos);
}

TEST(HttpJson, HostileParamCannotBreakOutOfItsString) {
  Ctx c;
  c.params["who"] = R"(x", "admin": true, "y": ")";
  HttpSpec s = spec("https://h/x");
  s.json = json{{"who", "{{ params.who }}"}, {"greeting", "hello {{ params.who }}"}};
  auto r = renderHttpRequest(s, c.get());
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto body = json::parse(r->body);
  EXPECT_EQ(body.size(), 2u);
  EXPECT_FALSE(body.contains("admin"));
  EXPECT_EQ(body["who"], c.params["who"]);
  EXPECT_EQ(body["greeting"], "hello " + c.params["who"].get<std::string>());
}

TEST(HttpJson, NulAndMissingValuesAreBadInput) {
  Ctx c;
  c.outputs["load"] = json{{"deep", {{"k", std::string("a\0b", 3)}}}};
  HttpSpec s = spec("https://h/x");
  s.json = json{{"v", "{{ steps.load.output.deep }}"}};
  auto r = renderHttpRequest(s, c.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("http.json.v: {{ steps.load.output.deep }}: the value "
                                     "contains a NUL byte in key 'k'"),
            std::string::npos)
      << r.error().message();
  s.json = json{{"a", {"{{ steps.load.output.nope }}"}}};
  r = renderHttpRequest(s, c.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("http.json.a.0: {{ steps.load.output.nope }}"),
            std::string::npos)
      << r.error().message();
}

TEST(HttpRender, TemplateValueIsWholeOnlyWithNothingAround) {
  Ctx c;
  c.outputs["s"] = json{{"n", 5}};
  EXPECT_EQ(*renderTemplateValue("{{steps.s.output.n}}", c.get()), json(5));
  EXPECT_EQ(*renderTemplateValue("{{ steps.s.output.n }} ", c.get()), json("5 "));
  EXPECT_EQ(*renderTemplateValue("{{ steps.s.output.n }}}}", c.get()), json("5}}"));
  EXPECT_EQ(*renderTemplateValue("{{ steps.s.output.n }}{{ steps.s.output.n }}", c.get()),
            json("55"));
  EXPECT_EQ(*renderTemplateValue("plain", c.get()), json("plain"));
}

TEST(HttpHeaders, RenderedValuesMustNotHoldLineBreaks) {
  Ctx c;
  c.params["t"] = "acme";
  HttpSpec s = spec("https://h/x");
  s.headers = {{"X-Tenant", "{{ params.t }}"}, {"Accept", "application/json"}};
  auto r = renderHttpRequest(s, c.get());
  ASSERT_TRUE(r.ok()) << r.error().message();
  using H = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r->headers, (H{{"Accept", "application/json"}, {"X-Tenant", "acme"}}));
  EXPECT_TRUE(r->body.empty());
  EXPECT_TRUE(r->contentType.empty());
  for (std::string bad : {"acme\r\nX-Admin: 1", "acme\nX-Admin: 1", "acme\r"}) {
    c.params["t"] = bad;
    r = renderHttpRequest(s, c.get());
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("http.headers.X-Tenant: the value contains a line break"),
              std::string::npos)
        << r.error().message();
  }
}

TEST(HttpBody, IsSentAsRenderedWithItsType) {
  Ctx c;
  c.params["v"] = "a&b=\"c\"\n";
  HttpSpec s = spec("https://h/x");
  s.body = "v={{ params.v }}";
  s.contentType = "application/x-www-form-urlencoded";
  auto r = renderHttpRequest(s, c.get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "v=a&b=\"c\"\n");
  EXPECT_EQ(r->contentType, "application/x-www-form-urlencoded");
  s.contentType.clear();
  EXPECT_EQ(renderHttpRequest(s, c.get())->contentType, "text/plain; charset=utf-8");
}

TEST(HttpStatus, Classification) {
  HttpSpec s = spec("https://h/x");
  EXPECT_EQ(classifyHttpStatus(s, 200), FailureClass::kNone);
  EXPECT_EQ(classifyHttpStatus(s, 299), FailureClass::kNone);
  EXPECT_EQ(classifyHttpStatus(s, 301), FailureClass::kError);
  EXPECT_EQ(classifyHttpStatus(s, 400), FailureClass::kBadInput);
  EXPECT_EQ(classifyHttpStatus(s, 404), FailureClass::kBadInput);
  EXPECT_EQ(classifyHttpStatus(s, 429), FailureClass::kRateLimited);
  EXPECT_EQ(classifyHttpStatus(s, 500), FailureClass::kError);
  for (int code : {502, 503, 504})
    EXPECT_EQ(classifyHttpStatus(s, code), FailureClass::kDependencyUnavailable);
  s.expect = {{200, 204}, {404, 404}, {503, 503}};
  EXPECT_EQ(classifyHttpStatus(s, 404), FailureClass::kNone);
  EXPECT_EQ(classifyHttpStatus(s, 503), FailureClass::kNone);
  EXPECT_EQ(classifyHttpStatus(s, 205), FailureClass::kError);
}

TEST(HttpHeaders, NamesAndReserved) {
  EXPECT_TRUE(isHttpToken("X-Tenant"));
  EXPECT_TRUE(isHttpToken("a!#$%&'*+-.^_`|~9"));
  EXPECT_FALSE(isHttpToken(""));
  EXPECT_FALSE(isHttpToken("X Tenant"));
  EXPECT_FALSE(isHttpToken("X:Tenant"));
  EXPECT_FALSE(isHttpToken("X\r\nY"));
  for (const char* n : {"Host", "content-length", "Transfer-Encoding", "IDEMPOTENCY-KEY",
                        "x-keel-run-id", "Traceparent"})
    EXPECT_TRUE(reservedHttpHeader(n).has_value()) << n;
  EXPECT_FALSE(reservedHttpHeader("Authorization").has_value());
}

// ---- the parser ----

// kMinimal (7 lines) and an http step from line 8.
std::string withHttp(const std::string& http) {
  return std::string(testing::kMinimal) + "  - name: call\n    timeout: 30s\n    http:\n" + http;
}

TEST(HttpParse, TheFullExample) {
  std::string yaml = R"(name: wf
owner: {team: t}
runbook: https://wiki.example.com/rb
params:
  date:
  region: {default: eu}
steps:
  - name: load
    run: ./load.sh
    timeout: 1m
  - name: push-orders
    needs: [load]
    http:
      method: POST
      url: "https://erp.example.com/orders/{{ params.date }}?region={{ params.region }}"
      headers: { X-Tenant: acme, X-Date: "{{ params.date }}" }
      json: { date: "{{ params.date }}", rows: "{{ steps.load.output.rows }}" }
      expect: [200-299, 409]
      ca_file: /etc/keel/erp-ca.pem
      follow_redirects: false
    timeout: 30s
)";
  auto r = testing::parse(yaml);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  const HttpSpec& h = (*r)->steps[1].http;
  EXPECT_EQ((*r)->steps[1].kind, StepKind::kHttp);
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.url, "https://erp.example.com/orders/{{ params.date }}?region={{ params.region }}");
  EXPECT_EQ(h.headers.at("X-Tenant"), "acme");
  EXPECT_EQ(h.headers.at("X-Date"), "{{ params.date }}");
  EXPECT_EQ((*h.json)["rows"], "{{ steps.load.output.rows }}");
  EXPECT_EQ(h.expect, (std::vector<HttpStatusRange>{{200, 299}, {409, 409}}));
  EXPECT_EQ(h.caFile, "/etc/keel/erp-ca.pem");
  EXPECT_FALSE(h.followRedirects);

  Ctx c;
  c.params = json{{"date", "2026-11-23"}, {"region", "eu west"}};
  c.outputs["load"] = json{{"rows", 12}};
  auto req = renderHttpRequest(h, c.get());
  ASSERT_TRUE(req.ok()) << req.error().message();
  EXPECT_EQ(req->url, "https://erp.example.com/orders/2026-11-23?region=eu%20west");
  EXPECT_EQ(req->body, R"({"date":"2026-11-23","rows":12})");

  // Defaults: GET, expect 200-299, no redirects, no body.
  auto d = testing::parse(withHttp("      url: https://h/x\n"));
  ASSERT_TRUE(d.ok()) << d.error().toString();
  const HttpSpec& dh = (*d)->steps[1].http;
  EXPECT_EQ(dh.method, "GET");
  EXPECT_EQ(dh.expect, (std::vector<HttpStatusRange>{{200, 299}}));
  EXPECT_FALSE(dh.followRedirects);
  EXPECT_FALSE(dh.json || dh.body);
  EXPECT_TRUE(dh.caFile.empty());

  // A body with its type.
  auto b =
      testing::parse(withHttp("      method: PUT\n      url: https://h/x\n"
                              "      body: \"a={{ run.id }}\"\n"
                              "      content_type: application/x-www-form-urlencoded\n"));
  ASSERT_TRUE(b.ok()) << b.error().toString();
  EXPECT_EQ(*(*b)->steps[1].http.body, "a={{ run.id }}");
  EXPECT_EQ((*b)->steps[1].http.contentType, "application/x-www-form-urlencoded");
}

TEST(HttpParse, EveryProblemWithItsPosition) {
  // Lines: 8 "- name: call", 9 timeout, 10 "http:", 11 on: the block.
  std::string yaml = withHttp(
      "      methd: POST\n"                                    // 11
      "      method: FETCH\n"                                  // 12
      "      url: \"https://{{ params.host }}/x\"\n"           // 13
      "      headers:\n"                                       // 14
      "        Host: evil.example.com\n"                       // 15
      "        Idempotency-Key: k\n"                           // 16
      "        X-Keel-Run-Id: r\n"                             // 17
      "        traceparent: t\n"                               // 18
      "        Content-Length: \"3\"\n"                        // 19
      "        Transfer-Encoding: chunked\n"                   // 20
      "        \"X Bad\": v\n"                                 // 21
      "        X-Ok: \"a\\r\\nb\"\n"                           // 22
      "        x-ok: again\n"                                  // 23
      "      json: {a: 1}\n"                                   // 24
      "      body: text\n"                                     // 25
      "      expect: [200-299, 99, 600, 300-200, abc, 2xx]\n"  // 26
      "      ca_file: relative/ca.pem\n"                       // 27
      "      follow_redirects: maybe\n");                      // 28
  EXPECT_TRUE(hasProblem(yaml, 11, 7,
                         "unknown key 'http.methd' in step 'call' (did you mean 'http.method'?)"));
  EXPECT_TRUE(hasProblem(yaml, 12, 15,
                         "http.method: unknown value \"FETCH\" (did you mean 'PATCH'?) (use one of "
                         "GET, HEAD, POST, PUT, PATCH, DELETE)"));
  EXPECT_TRUE(hasProblem(yaml, 13, 21, "http.url: a template in the host or port"));
  EXPECT_TRUE(hasProblem(yaml, 13, 21, "so that no value can send the request to another host"));
  EXPECT_TRUE(
      hasProblem(yaml, 15, 9, "http.headers: Host cannot be set: keel sets it from the URL"));
  EXPECT_TRUE(hasProblem(yaml, 16, 9, "http.headers: Idempotency-Key cannot be set: keel sets it"));
  EXPECT_TRUE(hasProblem(yaml, 17, 9, "http.headers: X-Keel-Run-Id cannot be set"));
  EXPECT_TRUE(hasProblem(yaml, 18, 9, "http.headers: traceparent cannot be set"));
  EXPECT_TRUE(hasProblem(yaml, 19, 9, "http.headers: Content-Length cannot be set"));
  EXPECT_TRUE(hasProblem(yaml, 20, 9, "http.headers: Transfer-Encoding cannot be set"));
  EXPECT_TRUE(hasProblem(yaml, 21, 9, "\"X Bad\" is not a valid header name"));
  EXPECT_TRUE(
      hasProblem(yaml, 22, 15, "http.headers.X-Ok: a header value cannot hold a line break"));
  EXPECT_TRUE(hasProblem(yaml, 23, 9, "http.headers: x-ok is set twice (as 'X-Ok' too"));
  EXPECT_TRUE(hasProblem(yaml, 25, 7, "give either json or body, not both"));
  EXPECT_TRUE(hasProblem(yaml, 26, 25, "http.expect: \"99\" is not a status code"));
  EXPECT_TRUE(hasProblem(yaml, 26, 29, "http.expect: \"600\""));
  EXPECT_TRUE(hasProblem(yaml, 26, 34, "http.expect: \"300-200\""));
  EXPECT_TRUE(hasProblem(yaml, 26, 43, "http.expect: \"abc\""));
  EXPECT_TRUE(hasProblem(yaml, 26, 48, "http.expect: \"2xx\""));
  EXPECT_TRUE(
      hasProblem(yaml, 27, 16, "http.ca_file: \"relative/ca.pem\" must be an absolute path"));
  EXPECT_TRUE(hasProblem(yaml, 28, 25, "http.follow_redirects"));
  EXPECT_EQ(problemsOf(yaml).size(), 20u) << joined(problemsOf(yaml));
}

TEST(HttpParse, UrlProblems) {
  EXPECT_TRUE(hasProblem(withHttp("      url: \"{{ params.url }}\"\n"), 11, 13,
                         "http.url: the URL must start with http:// or https:// and its host"));
  EXPECT_TRUE(hasProblem(withHttp("      url: \"https://api.example.com:{{ params.port }}/x\"\n"),
                         11, 37, "a template in the host or port"));
  EXPECT_TRUE(hasProblem(withHttp("      url: ftp://h/x\n"), 11, 12,
                         "http.url: \"ftp://h/x\" must start with http:// or https://"));
  EXPECT_TRUE(hasProblem(withHttp("      url: https://h/a/../b\n"), 11, 12,
                         "http.url: the path has a '..' segment"));
  EXPECT_TRUE(hasProblem(withHttp("      url: https://u:p@h/x\n"), 11, 12,
                         "user names and passwords in the URL"));
  EXPECT_TRUE(hasProblem(withHttp("      url: \"https://h/x#frag\"\n"), 11, 12, "a fragment"));
  EXPECT_TRUE(hasProblem(withHttp("      method: GET\n"), 11, 7, "http: missing 'url'"));
  // The references are checked like any other template.
  EXPECT_TRUE(hasProblem(withHttp("      url: \"https://h/{{ steps.call.output.x }}\"\n"), 11, 12,
                         "step 'call' uses its own output"));
  EXPECT_TRUE(hasProblem(withHttp("      url: \"https://h/{{ params..x }}\"\n"), 11, 12,
                         "http.url: bad template"));
}

TEST(HttpParse, PayloadAndOtherProblems) {
  EXPECT_TRUE(hasProblem(withHttp("      url: https://h/x\n      content_type: text/csv\n"), 12, 7,
                         "http.content_type: goes with body"));
  EXPECT_TRUE(hasProblem(withHttp("      method: HEAD\n      url: https://h/x\n      body: x\n"),
                         13, 7, "http.body: a HEAD request carries no body"));
  EXPECT_TRUE(hasProblem(withHttp("      method: POST\n      url: https://h/x\n      json: {}\n"
                                  "      headers: {Content-Type: text/plain}\n"),
                         14, 17, "http.headers: Content-Type cannot be set here"));
  EXPECT_TRUE(hasProblem(withHttp("      method: POST\n      url: https://h/x\n"
                                  "      json: {\"{{ params.k }}\": 1}\n"),
                         13, 13, "templates are allowed in values, not in keys"));
  EXPECT_TRUE(hasProblem(withHttp("      url: https://h/x\n      expect: []\n"), 12, 15,
                         "http.expect: an empty list"));
  EXPECT_TRUE(hasProblem(withHttp("      url: http://h/x\n      ca_file: /etc/ca.pem\n"), 12, 16,
                         "http.ca_file: is only used for https:// URLs"));
  EXPECT_TRUE(
      hasProblem(withHttp("      url: https://h/x\n      json: {a: \"{{ steps.nope.output }}\"}\n"),
                 12, 13, "http.json.a: {{ steps.nope.output }}: no step named 'nope'"));
  EXPECT_TRUE(hasProblem(withHttp("      - url\n"), 11, 7, "http: expected a mapping"));
  // G10: an http step needs a timeout.
  std::string noTimeout =
      std::string(testing::kMinimal) + "  - name: call\n    http: {url: \"https://h/x\"}\n";
  EXPECT_TRUE(hasProblem(noTimeout, 8, 5, "step 'call' has no timeout"));
}

TEST(HttpParse, RunnableAndExplained) {
  std::string yaml =
      withHttp(
          "      method: POST\n      url: \"https://h/o/{{ run.id }}\"\n"
          "      headers: {X-T: a, Authorization: Bearer s3cr3t}\n"
          "      json: {id: \"{{ run.id }}\", rows: \"{{ steps.a.output.rows }}\"}\n") +
      "    needs: [a]\n";
  auto r = testing::parse(yaml);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  Runnability run = checkRunnable(**r, "f.yaml");
  EXPECT_TRUE(run.problems.empty()) << run.problems[0];
  std::string text = explainWorkflow(**r);
  for (const char* line : {
           "      http: POST https://h/o/{{ run.id }}\n",
           "        POST https://h/o/{{ run.id }}\n",
           "        X-T: a\n",
           "        Authorization: <hidden: 13 characters>\n",
           "        Idempotency-Key: <run id>/call   (added by keel",
           "        X-Keel-Run-Id: <run id>   (added by keel)\n",
           "        traceparent: <the attempt's W3C trace context>",
           "        Content-Type: application/json\n",
           "        body (json): {\"id\":\"{{ run.id }}\",\"rows\":{{ steps.a.output.rows }}}\n",
           "      expect: [200-299] (default)\n",
           "429 -> rate_limited (Retry-After honoured)",
           "connection refused, DNS or TLS failure, 502, 503, 504 -> dependency_unavailable",
           "other 4xx -> bad_input (not retried by default)",
           "no response within the timeout -> timeout",
           "      request (each {{ ... }} is filled in per run",
       })
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace keel::spec
