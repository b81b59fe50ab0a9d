// An `http:` step: method, url, headers, json or body, expect, ca_file,
// follow_redirects. The rules on the URL and header names are http_step.h's.
#include <algorithm>
#include <cctype>
#include <map>

#include "spec/http_step.h"

#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec::detail {
namespace {

const std::vector<std::string> kHttpKeys = {"method", "url",     "headers",
                                            "json",   "body",    "content_type",
                                            "expect", "ca_file", "follow_redirects"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void readUrl(const MapReader& h, HttpSpec& http, int index, ParseState& st) {
  if (!h.has("url")) {
    st.diag.add(h.pos(), h.where() + ": http: missing 'url'");
    return;
  }
  auto url = h.string("url");
  if (!url) return;
  const YAML::Node& node = *h.find("url");
  http.url = *url;
  st.addTemplate(index, h.where(), "http.url", *url, posOf(node));
  if (auto p = urlTemplateProblem(*url))
    st.diag.add(p->inHost ? templatePos(node, 0, st.source) : posOf(node),
                h.subject("url") + ": " + p->message);
}

void readHeaders(const MapReader& h, HttpSpec& http, bool hasPayload, int index, ParseState& st) {
  auto headers = h.mapping("headers");
  if (!headers) return;
  std::map<std::string, std::string> seen;  // lower-case name -> as first written
  for (auto it = headers->begin(); it != headers->end(); ++it) {
    std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
    std::string subject = h.subject("headers") + ": " + describe(it->first);
    if (!isHttpToken(name)) {
      st.diag.add(posOf(it->first), subject +
                                        " is not a valid header name (letters, digits and "
                                        "!#$%&'*+-.^_`|~)");
      continue;
    }
    subject = h.subject("headers") + ": " + name;
    if (auto why = reservedHttpHeader(name)) {
      st.diag.add(posOf(it->first), subject + " cannot be set: " + *why);
      continue;
    }
    if (hasPayload && lower(name) == "content-type") {
      st.diag.add(posOf(it->first),
                  subject +
                      " cannot be set here: json is sent as application/json; give a "
                      "body's type with content_type");
      continue;
    }
    auto [first, fresh] = seen.emplace(lower(name), name);
    if (!fresh) {
      st.diag.add(posOf(it->first), subject + " is set twice (as '" + first->second +
                                        "' too; header names ignore case)");
      continue;
    }
    auto value = readString(it->second, h.subject("headers." + name), st.diag, true);
    if (!value) continue;
    if (value->find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      st.diag.add(posOf(it->second), h.subject("headers." + name) +
                                         ": a header value cannot hold a line break or NUL");
      continue;
    }
    st.addTemplate(index, h.where(), "http.headers." + name, *value, posOf(it->second));
    http.headers[name] = *value;
  }
}

void readPayload(const MapReader& h, HttpSpec& http, int index, ParseState& st) {
  bool hasJson = h.has("json"), hasBody = h.has("body");
  if (hasJson && hasBody)
    st.diag.add(h.keyPos("body"), h.where() + ": http: give either json or body, not both");
  if ((hasJson || hasBody) && http.method == "HEAD") {
    std::string key = hasJson ? "json" : "body";
    st.diag.add(h.keyPos(key), h.subject(key) + ": a HEAD request carries no body");
  }
  if (auto body = h.string("body", true)) {
    http.body = *body;
    http.contentType = std::string(kDefaultBodyContentType);
    st.addTemplate(index, h.where(), "http.body", *body, posOf(*h.find("body")));
  }
  if (h.has("content_type")) {
    if (!hasBody) {
      st.diag.add(
          h.keyPos("content_type"),
          h.subject("content_type") + ": goes with body (json is always sent as application/json)");
    } else if (auto type = h.string("content_type")) {
      if (type->find_first_of(std::string("\r\n\0", 3)) != std::string::npos ||
          type->find("{{") != std::string::npos)
        st.diag.add(posOf(*h.find("content_type")),
                    h.subject("content_type") + ": a media type, without templates or line breaks");
      else
        http.contentType = *type;
    }
  }
  if (const YAML::Node* json = h.find("json")) {
    if (auto j = readJson(*json, h.subject("json"), st.diag)) {
      addJsonTemplates(*j, "http.json", posOf(*json), index, h.where(), st);
      http.json = std::move(*j);
    }
  }
}

// "200", "200-299": a status or a range, each end within 100-599.
std::optional<HttpStatusRange> parseStatusRange(const std::string& text) {
  auto num = [](std::string_view s) -> std::optional<int> {
    if (s.size() != 3 || !std::all_of(s.begin(), s.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return std::nullopt;
    int v = std::stoi(std::string(s));
    if (v < 100 || v > 599) return std::nullopt;
    return v;
  };
  size_t dash = text.find('-');
  auto from = num(std::string_view(text).substr(0, dash));
  auto to = dash == std::string::npos ? from : num(std::string_view(text).substr(dash + 1));
  if (!from || !to || *from > *to) return std::nullopt;
  return HttpStatusRange{*from, *to};
}

void readExpect(const MapReader& h, HttpSpec& http, ParseState& st) {
  const YAML::Node* n = h.find("expect");
  if (!n) return;
  auto list = readStringList(*n, h.subject("expect"), st.diag, true,
                             "a list of status codes or ranges, e.g. [200-299, 404]");
  if (!list) return;
  if (list->empty())
    st.diag.add(posOf(*n), h.subject("expect") +
                               ": an empty list would make every response a failure; leave "
                               "expect out for 200-299");
  std::vector<HttpStatusRange> expect;
  for (const auto& [text, pos] : *list) {
    if (auto r = parseStatusRange(text))
      expect.push_back(*r);
    else
      st.diag.add(pos, h.subject("expect") + ": \"" + text +
                           "\" is not a status code or a range FROM-TO (each from 100 to 599, "
                           "e.g. 200-299)");
  }
  if (!expect.empty()) http.expect = std::move(expect);
}

void readTls(const MapReader& h, HttpSpec& http, ParseState& st) {
  if (auto ca = h.string("ca_file")) {
    if (ca->front() != '/')
      st.diag.add(posOf(*h.find("ca_file")),
                  h.subject("ca_file") + ": \"" + *ca + "\" must be an absolute path");
    else if (http.url.starts_with("http://"))
      st.diag.add(posOf(*h.find("ca_file")),
                  h.subject("ca_file") + ": is only used for https:// URLs");
    else
      http.caFile = *ca;
  }
  if (auto follow = h.boolean("follow_redirects")) http.followRedirects = *follow;
}

}  // namespace

// Every string leaf of `json:` may be a template; keys are literal.
void addJsonTemplates(const nlohmann::json& j, const std::string& field, SourcePos pos, int index,
                      const std::string& where, ParseState& st) {
  if (j.is_string()) {
    st.addTemplate(index, where, field, j.get<std::string>(), pos);
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k.find("{{") != std::string::npos)
        st.diag.add(pos, where + ": " + field + ": key \"" + k +
                             "\": templates are allowed in values, not in keys");
      addJsonTemplates(v, field + "." + k, pos, index, where, st);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i)
      addJsonTemplates(j[i], field + "." + std::to_string(i), pos, index, where, st);
  }
}

void readHttp(const YAML::Node& node, StepSpec& step, int index, const std::string& where,
              ParseState& st) {
  if (!node.IsMap()) {
    st.diag.add(posOf(node), where +
                                 ": http: expected a mapping {method, url, headers, json, "
                                 "body, expect, ...}, got " +
                                 describe(node));
    return;
  }
  HttpSpec& http = step.http;
  MapReader h(node, where, "http.", st.diag);
  h.checkKeys(kHttpKeys);
  std::vector<std::string> methods(kHttpMethods.begin(), kHttpMethods.end());
  if (auto method = h.choice("method", methods)) http.method = *method;
  readUrl(h, http, index, st);
  readHeaders(h, http, h.has("json") || h.has("body"), index, st);
  readPayload(h, http, index, st);
  readExpect(h, http, st);
  readTls(h, http, st);
}

}  // namespace keel::spec::detail
