#include "incidents/incident.h"

#include <cctype>

namespace keel::incidents {

std::string_view toString(IncidentState s) {
  switch (s) {
    case IncidentState::kOpen:
      return "open";
    case IncidentState::kAcknowledged:
      return "acknowledged";
    case IncidentState::kMitigated:
      return "mitigated";
    case IncidentState::kResolved:
      return "resolved";
  }
  return "open";
}

std::optional<IncidentState> parseIncidentState(std::string_view s) {
  for (auto st : {IncidentState::kOpen, IncidentState::kAcknowledged, IncidentState::kMitigated,
                  IncidentState::kResolved})
    if (toString(st) == s) return st;
  return std::nullopt;
}

std::string severityName(int severity) { return "SEV" + std::to_string(severity); }

std::optional<int> parseSeverity(std::string_view s) {
  if (s.size() != 4) return std::nullopt;
  if (std::toupper(static_cast<unsigned char>(s[0])) != 'S' ||
      std::toupper(static_cast<unsigned char>(s[1])) != 'E' ||
      std::toupper(static_cast<unsigned char>(s[2])) != 'V')
    return std::nullopt;
  if (s[3] < '1' || s[3] > '0' + kLowestSeverity) return std::nullopt;
  return s[3] - '0';
}

std::string lastLines(std::string_view text, int lines) {
  if (text.empty()) return {};
  size_t end = text.size();
  if (text[end - 1] == '\n') --end;
  size_t pos = end;
  int seen = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
    --pos;
  }
  return std::string(text.substr(pos, end - pos));
}

}  // namespace keel::incidents
