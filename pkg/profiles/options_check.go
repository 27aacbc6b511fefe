package profiles

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxTimeout bounds a route timeout given on the command line.
const MaxTimeout = 24 * time.Hour

// Check rejects options that would produce a wrong or unsafe object: a timeout that is not a
// positive duration, a cluster domain that is not a DNS name (x/../../y would end up in the
// ServiceProfile's name). NewPlan runs it; commands run it before reading any contract.
func (o Options) Check() error {
	if o.Timeout != "" {
		d, err := time.ParseDuration(o.Timeout)
		if err != nil {
			return fmt.Errorf("invalid timeout %q: use a duration such as 500ms or 10s", o.Timeout)
		}
		if d <= 0 || d > MaxTimeout {
			return fmt.Errorf("invalid timeout %q: must be within 1ns..%s", o.Timeout, MaxTimeout)
		}
	}
	if o.ClusterDomain != "" {
		if errs := validation.IsDNS1123Subdomain(o.ClusterDomain); len(errs) > 0 {
			return fmt.Errorf("invalid cluster domain %q: %s", o.ClusterDomain, strings.Join(errs, "; "))
		}
	}
	return nil
}
