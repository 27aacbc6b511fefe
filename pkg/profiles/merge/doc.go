// Package merge updates objects a user already has, and may have edited by hand, with the ones
// pkg/profiles generates from a contract: a ServiceProfile (ServiceProfile) and Gateway API
// HTTPRoutes and GRPCRoutes (Routes). What the user wrote (hand-written routes, rules, matches,
// labels, backendRefs, other Services' routes) is kept or reported, never silently dropped;
// every change comes back as a line for the user to review.
//
// It lives apart from pkg/profiles because it works on the objects as the user's files hold
// them, JSON-shaped maps that may carry any field, rather than on the generator's model; it
// imports pkg/profiles, never the reverse.
package merge
