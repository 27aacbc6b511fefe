package smi

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ErrWeight marks a weight that cannot be used: negative, not a number, or too large.
var ErrWeight = errors.New("invalid weight")

// IntWeights turns v1alpha1 quantity weights into integers with exactly the same proportions,
// scaled only as far as the finest quantity needs: "90" and "10" stay 90 and 10, "500m" and
// "1500m" become 500 and 1500, "1" and "250m" become 1000 and 250. Only the proportions matter
// to the mesh, and integers are what v1alpha2 and HTTPRoutes carry. A nil quantity counts as 0
// (the CRD requires the field, but an object written before that may lack it).
func IntWeights(qs []*resource.Quantity) ([]int64, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	decs := make([]*big.Int, len(qs))
	scales := make([]int64, len(qs))
	maxScale := int64(0)
	for i, q := range qs {
		if q == nil {
			decs[i] = new(big.Int)
			continue
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%w: %s is negative", ErrWeight, q.String())
		}
		d := q.AsDec()
		decs[i], scales[i] = new(big.Int).Set(d.UnscaledBig()), int64(d.Scale())
		maxScale = max(maxScale, scales[i])
	}
	ten := big.NewInt(10)
	out := make([]int64, len(decs))
	for i, d := range decs {
		// inf.Dec is unscaled * 10^-scale; a negative scale ("1k" may be 1 at scale -3) just
		// means a larger exponent here.
		d.Mul(d, new(big.Int).Exp(ten, big.NewInt(maxScale-scales[i]), nil))
		if !d.IsInt64() {
			return nil, fmt.Errorf("%w: %s is too large next to the other weights", ErrWeight, qs[i].String())
		}
		out[i] = d.Int64()
	}
	return out, nil
}

// Quantities turns integer weights into v1alpha1 quantities (decimal, no suffix).
func Quantities(ws []int64) ([]*resource.Quantity, error) {
	out := make([]*resource.Quantity, len(ws))
	for i, w := range ws {
		if w < 0 {
			return nil, fmt.Errorf("%w: %d is negative", ErrWeight, w)
		}
		out[i] = resource.NewQuantity(w, resource.DecimalSI)
	}
	return out, nil
}

// Rescale spreads total over the weights in proportion, rounding by largest remainder so that
// the results add up to total exactly (plain rounding of 1/3 each to 33 loses one). Ties go to
// the earlier weight; a zero weight stays zero. It returns all zeros when the weights sum to 0.
func Rescale(ws []int64, total int64) []int64 {
	out := make([]int64, len(ws))
	sum := new(big.Int)
	for _, w := range ws {
		sum.Add(sum, big.NewInt(max(w, 0)))
	}
	if sum.Sign() == 0 || total <= 0 {
		return out
	}
	type rem struct {
		i int
		r *big.Int
	}
	rems := make([]rem, len(ws))
	given := int64(0)
	for i, w := range ws {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(max(w, 0)), big.NewInt(total)), sum, new(big.Int))
		out[i] = q.Int64()
		given += out[i]
		rems[i] = rem{i, r}
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return b.r.Cmp(a.r) })
	for k := 0; given < total && k < len(rems); k++ {
		out[rems[k].i]++
		given++
	}
	return out
}

// Percentages is Rescale to 100: what a table shows.
func Percentages(ws []int64) []int64 { return Rescale(ws, 100) }
