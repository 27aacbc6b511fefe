package canary

import (
	"context"
	"errors"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// transientBackoff spaces the retries of one step of a rollout that failed on a transient API
// error: six tries over about six seconds before the run gives up.
var transientBackoff = wait.Backoff{Steps: 6, Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Cap: 5 * time.Second}

// isTransient reports whether err is worth retrying: the API server was overloaded, timed out
// or unreachable for a moment. A cancelled run is never retried.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsUnexpectedServerError(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || utilnet.IsConnectionReset(err) || utilnet.IsConnectionRefused(err) || utilnet.IsProbableEOF(err)
}

// retryTransient runs fn again with backoff while it fails transiently, so that one blip of the
// API server does not end `canary run` with the traffic part-way. Every step fn stands for is
// idempotent (state writes check the resource version, weight writes set absolute weights).
func retryTransient(ctx context.Context, fn func() error) error {
	return retry.OnError(transientBackoff, func(err error) bool { return ctx.Err() == nil && isTransient(err) }, fn)
}
