// completeIncident(): the first failing step's attempts and log tail, read
// from its run when an incident is shown.
//
// The engine records an incident from the batch of its symptom: it knows
// the attempt that ended then, and the logs queued in that batch (none for
// step_not_recovered, whose attempt's logs are written later). When the
// incident is shown (the API's incident and post-mortem), this reads the
// run the incident started with: every attempt of that step (number,
// start, end, class, message, exit code, in order) replaces the one
// recorded, and an empty log tail becomes the last kLogLines lines of the
// recorded attempt's logs (else the step's latest attempt with logs). A run
// already deleted by retention leaves the incident as recorded; a read that
// fails too (the incident is still worth showing).
#pragma once

#include "incidents/incident.h"
#include "store/store.h"

namespace keel::api {

void completeIncident(store::Store& store, incidents::Incident& incident);

}  // namespace keel::api
