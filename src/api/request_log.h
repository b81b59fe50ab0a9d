// The API's log lines, as JSON with fields (observe/json_log.h): one per
// answered request, and one per request that failed inside keel. Any thread.
#pragma once

#include <string>

#include <httplib.h>

namespace keel::api {

// The line for an answered request: "http METHOD PATH STATUS" with the
// fields method, path, status, remote, request_id and actor (when the
// access check knew who asked). Level: warn for 5xx, info for 401 and 403 (refused by
// the access check), debug otherwise.
void logRequest(const httplib::Request& request, int status, const std::string& actor,
                const std::string& requestId = {});

// An error line for a request whose handler failed unexpectedly, with the
// fields method, path, status (500), actor and request_id (when known).
void logRequestError(const httplib::Request& request, const std::string& what,
                     const std::string& actor = {}, const std::string& requestId = {});

}  // namespace keel::api
