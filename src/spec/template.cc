#include "spec/template.h"

#include <cctype>
#include <optional>

#include "spec/shell.h"

namespace keel::spec {
namespace {

bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Error syntaxError(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "bad template: " + std::move(message));
}

// Parses one expression (the text between the braces, already trimmed).
Result<TemplateRef> parseExpr(std::string_view expr, int column) {
  if (expr.empty())
    return syntaxError("empty expression '{{ }}' at column " + std::to_string(column));
  TemplateRef ref;
  ref.text = std::string(expr);
  ref.column = column;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = expr.find('.', start);
    std::string_view part =
        expr.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    bool ok = !part.empty();
    for (char c : part) ok = ok && isIdentChar(c);
    if (!ok)
      return syntaxError("bad expression '" + ref.text + "' at column " + std::to_string(column) +
                         ": use a dotted path like params.date or steps.fetch.output.path");
    parts.emplace_back(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  ref.root = parts.front();
  ref.path.assign(parts.begin() + 1, parts.end());
  return ref;
}

// Calls onText for literal text and onRef for each expression, in order.
template <typename OnText, typename OnRef>
Status walk(std::string_view tmpl, OnText onText, OnRef onRef) {
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      onText(tmpl.substr(pos));
      break;
    }
    onText(tmpl.substr(pos, open - pos));
    int column = static_cast<int>(open) + 1;
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos)
      return syntaxError("'{{' at column " + std::to_string(column) + " has no closing '}}'");
    auto ref = parseExpr(trim(tmpl.substr(open + 2, close - open - 2)), column);
    if (!ref.ok()) return ref.error();
    KEEL_TRY(onRef(*ref));
    pos = close + 2;
  }
  return okStatus();
}

// The name in upper case, every character that is not a letter or digit '_'.
std::string envSuffix(const std::string& name) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
  }
  return out;
}

// The offset of the first byte that does not belong to a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
std::optional<size_t> invalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return i;
    }
    i += len;
  }
  return std::nullopt;
}

Error missing(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

// Follows path[from..] inside a JSON value: object keys, or indexes into arrays.
Result<const nlohmann::json*> descend(const nlohmann::json* v, const TemplateRef& ref, size_t from,
                                      const std::string& what) {
  for (size_t i = from; i < ref.path.size(); ++i) {
    const std::string& key = ref.path[i];
    if (v->is_object()) {
      auto it = v->find(key);
      if (it == v->end())
        return missing("{{ " + ref.text + " }}: " + what + " has no key '" + key + "'");
      v = &*it;
    } else if (v->is_array() && !key.empty() &&
               key.find_first_not_of("0123456789") == std::string::npos && key.size() < 10 &&
               std::stoul(key) < v->size()) {
      v = &(*v)[std::stoul(key)];
    } else {
      return missing("{{ " + ref.text + " }}: " + what + " has no key '" + key + "' (it is " +
                     (v->is_array() ? "a list" : "not an object") + ")");
    }
  }
  return v;
}

Result<const nlohmann::json*> lookup(const TemplateRef& ref, const TemplateContext& ctx,
                                     nlohmann::json& scratch) {
  if (ref.root == "params") {
    if (ref.path.empty()) return missing("{{ params }}: name a param, e.g. params.date");
    const std::string& name = ref.path[0];
    if (!ctx.params || !ctx.params->is_object() || !ctx.params->contains(name))
      return missing("missing param '" + name + "'");
    return descend(&(*ctx.params)[name], ref, 1, "param '" + name + "'");
  }
  if (ref.root == "steps") {
    if (ref.path.size() < 2 || ref.path[1] != "output")
      return missing("{{ " + ref.text + " }}: write steps.NAME.output[.KEY...]");
    const std::string& step = ref.path[0];
    if (!ctx.stepOutputs || !ctx.stepOutputs->count(step))
      return missing("{{ " + ref.text + " }}: no output from step '" + step + "'");
    return descend(&ctx.stepOutputs->at(step), ref, 2, "the output of step '" + step + "'");
  }
  if (ref.root == "event") {
    if (!ctx.event || !ctx.event->is_object())
      return missing("{{ " + ref.text +
                     " }}: there is no event here (event.* is set only in "
                     "an event trigger's params)");
    if (ref.path.empty())
      return missing("{{ event }}: write event.id, event.topic or event.payload");
    return descend(ctx.event, ref, 0, "the event");
  }
  if (ref.root == "schedule") {
    if (!ctx.schedule || !ctx.schedule->is_object())
      return missing("{{ " + ref.text +
                     " }}: there is no schedule here (schedule.* is set only in a cron "
                     "trigger's params)");
    if (ref.path.empty()) return missing("{{ schedule }}: write schedule.time or schedule.date");
    return descend(ctx.schedule, ref, 0, "the schedule");
  }
  if (ref.root == "file") {
    if (!ctx.file || !ctx.file->is_object())
      return missing("{{ " + ref.text +
                     " }}: there is no file here (file.* is set only in a file trigger's "
                     "params)");
    if (ref.path.empty())
      return missing("{{ file }}: write file.path, file.name, file.size or file.mtime");
    return descend(ctx.file, ref, 0, "the file");
  }
  if (ref.root == "upstream") {
    if (!ctx.upstream || !ctx.upstream->is_object())
      return missing("{{ " + ref.text +
                     " }}: there is no upstream run here (upstream.* is set only in "
                     "an after trigger's params)");
    if (ref.path.empty())
      return missing(
          "{{ upstream }}: write upstream.run_id, upstream.workflow, "
          "upstream.state or upstream.steps.NAME.output");
    if (ref.path[0] == "steps") {
      if (ref.path.size() < 3 || ref.path[2] != "output")
        return missing("{{ " + ref.text + " }}: write upstream.steps.NAME.output[.KEY...]");
      auto steps = ctx.upstream->find("steps");
      if (steps == ctx.upstream->end() || !steps->is_object() || !steps->contains(ref.path[1]))
        return missing("{{ " + ref.text + " }}: no output from step '" + ref.path[1] +
                       "' of the upstream run");
    }
    return descend(ctx.upstream, ref, 0, "the upstream run");
  }
  if (ref.root == "run" && ref.path.size() == 1 && ref.path[0] == "id") {
    scratch = ctx.runId;
    return &scratch;
  }
  if (ref.root == "run" && ref.path.size() == 1 && ref.path[0] == "workflow") {
    scratch = ctx.workflow;
    return &scratch;
  }
  return missing("{{ " + ref.text + " }}: unknown reference (use params.X, steps.X.output, " +
                 "run.id or run.workflow)");
}

// Where a string inside `v` holds a NUL byte (" at offset N", or " in KEY"
// for one nested in an object or array), or nullopt.
std::optional<std::string> nulInside(const nlohmann::json& v) {
  if (v.is_string()) {
    size_t nul = v.get_ref<const std::string&>().find('\0');
    if (nul == std::string::npos) return std::nullopt;
    return " at offset " + std::to_string(nul);
  }
  if (v.is_object()) {
    for (const auto& [k, item] : v.items())
      if (k.find('\0') != std::string::npos)
        return std::string(" in a key");
      else if (nulInside(item))
        return " in key '" + k + "'";
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      if (nulInside(v[i])) return " in item " + std::to_string(i);
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<TemplateRef>> templateRefs(std::string_view tmpl) {
  std::vector<TemplateRef> refs;
  auto st = walk(
      tmpl, [](std::string_view) {},
      [&](const TemplateRef& ref) {
        refs.push_back(ref);
        return okStatus();
      });
  if (!st.ok()) return st.error();
  return refs;
}

Result<std::string> renderTemplate(std::string_view tmpl, const TemplateContext& ctx,
                                   Escape escape) {
  std::string out;
  auto st = walk(
      tmpl, [&](std::string_view text) { out.append(text); },
      [&](const TemplateRef& ref) -> Status {
        nlohmann::json scratch;
        auto v = lookup(ref, ctx, scratch);
        if (!v.ok()) return v.error();
        const nlohmann::json& j = **v;
        std::string text = j.is_string()
                               ? j.get_ref<const std::string&>()
                               : j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        if (size_t nul = text.find('\0'); nul != std::string::npos)
          return Error(ErrorCode::kInvalidArgument,
                       "{{ " + ref.text + " }}: the value contains a NUL byte at offset " +
                           std::to_string(nul));
        switch (escape) {
          case Escape::kNone:
            out += text;
            break;
          case Escape::kShell:
            out += shellQuote(text);
            break;
          case Escape::kUrlPathSegment:
            if (text == "." || text == "..")
              return Error(ErrorCode::kInvalidArgument,
                           "{{ " + ref.text + " }}: the value \"" + text +
                               "\" cannot be a URL path segment (it would move in the path)");
            out += percentEncode(text);
            break;
          case Escape::kUrlQuery:
            out += percentEncode(text);
            break;
        }
        return okStatus();
      });
  if (!st.ok()) return st.error();
  return out;
}

std::string percentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

Result<nlohmann::json> renderTemplateValue(std::string_view tmpl, const TemplateContext& ctx) {
  auto refs = templateRefs(tmpl);
  if (!refs.ok()) return refs.error();
  bool whole = refs->size() == 1 && tmpl.starts_with("{{") && tmpl.find("}}") + 2 == tmpl.size();
  if (!whole) {
    auto text = renderTemplate(tmpl, ctx, Escape::kNone);
    if (!text.ok()) return text.error();
    return nlohmann::json(std::move(*text));
  }
  const TemplateRef& ref = refs->front();
  nlohmann::json scratch;
  auto v = lookup(ref, ctx, scratch);
  if (!v.ok()) return v.error();
  if (auto at = nulInside(**v))
    return Error(ErrorCode::kInvalidArgument,
                 "{{ " + ref.text + " }}: the value contains a NUL byte" + *at);
  return **v;
}

Status checkParamValue(std::string_view name, std::string_view value) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "param '" + std::string(name) + "': " + why);
  };
  if (value.size() > kMaxParamBytes)
    return bad("is " + std::to_string(value.size()) + " bytes long; the limit is " +
               std::to_string(kMaxParamBytes) + " bytes");
  if (size_t nul = value.find('\0'); nul != std::string_view::npos)
    return bad("contains a NUL byte at offset " + std::to_string(nul));
  if (auto at = invalidUtf8At(value))
    return bad("is not valid UTF-8 (bad byte at offset " + std::to_string(*at) + ")");
  return okStatus();
}

std::string paramEnvName(const std::string& param) { return "KEEL_PARAM_" + envSuffix(param); }

std::string stepOutputEnvName(const std::string& step) { return "KEEL_OUTPUT_" + envSuffix(step); }

Result<nlohmann::json> renderJsonTemplate(const nlohmann::json& j, const TemplateContext& ctx,
                                          const std::string& field) {
  if (j.is_string()) {
    auto v = renderTemplateValue(j.get_ref<const std::string&>(), ctx);
    if (!v.ok()) return Error(ErrorCode::kInvalidArgument, field + ": " + v.error().message());
    return std::move(*v);
  }
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : j.items()) {
      auto r = renderJsonTemplate(v, ctx, field + "." + k);
      if (!r.ok()) return r.error();
      out[k] = std::move(*r);
    }
    return out;
  }
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < j.size(); ++i) {
      auto r = renderJsonTemplate(j[i], ctx, field + "." + std::to_string(i));
      if (!r.ok()) return r.error();
      out.push_back(std::move(*r));
    }
    return out;
  }
  return j;
}

}  // namespace keel::spec
