// Package lint checks ServiceProfiles, HTTPRoutes and GRPCRoutes, generated or written by
// hand, for what Linkerd's webhook or the API server would reject and for what would quietly
// route requests elsewhere than meant (shadowed routes, overlapping rules, a profile that
// overrides a Service's routes). It backs `trafficctl lint`.
//
// It lives apart from pkg/profiles because it reads any manifest as the user wrote it (JSON-
// shaped maps, other tools' objects included) rather than the generator's model; it imports
// pkg/profiles for the names they share, never the reverse.
package lint
