// renderPostmortem: the Markdown post-mortem of an incident, from its record
// alone: summary, impact (affected runs, the delay from first seen to
// mitigated or resolved), timeline, the detection / escalation /
// acknowledgement / resolution times (time to acknowledge, time to
// resolve), root cause, action items, and the recurrence history.
//
// Every value from the record is escaped for where it lands: a table cell
// cannot gain a column (`|`) or a line, a paragraph cannot become a heading
// or a list (`#`, `-`, `>` at a line's start), and Markdown's inline marks
// are shown as they were typed. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "incidents/incident.h"

namespace keel::incidents {

// `at`: when the document is written (its footer says so).
std::string renderPostmortem(const Incident& incident, WallTime at);

// `text` as Markdown inline text: backslash before every character Markdown
// may read as syntax, newlines as spaces.
std::string escapeMarkdownInline(std::string_view text);
// "1h 02m", "3m 05s", "42s", "2d 04h": a duration for people.
std::string humanDuration(WallTime::duration d);

}  // namespace keel::incidents
