package benchkit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Interval is a ratio estimate with its 95% confidence interval.
type Interval struct {
	Est, Lo, Hi float64
	// Dropped counts the resamples (of Resamples) whose ratio had no
	// value (an added-time ratio whose floor added no time).
	Dropped, Resamples int
}

func (iv Interval) String() string {
	s := fmt.Sprintf("%.3f (95%% CI %.3f–%.3f)", iv.Est, iv.Lo, iv.Hi)
	if iv.Dropped > 0 {
		s += fmt.Sprintf(", %d of %d resamples without a value", iv.Dropped, iv.Resamples)
	}
	return s
}

// Verdict says how the interval stands against an upper limit: "met" when
// all of it is at or below, "missed" when all of it is above, otherwise
// "not settled" — the honest answer when the machine's noise is larger
// than the difference being measured. An estimate without a value, or an
// interval for which more than 2.5% of the resamples had none, settles
// nothing either.
func (iv Interval) Verdict(limit float64) string {
	switch {
	case math.IsNaN(iv.Est) || math.IsNaN(iv.Lo) || math.IsNaN(iv.Hi):
		return "not settled (no value: the floor added no time)"
	case iv.Resamples > 0 && float64(iv.Dropped) > 0.025*float64(iv.Resamples):
		return "not settled (too many resamples without a value)"
	case iv.Hi <= limit:
		return "met"
	case iv.Lo > limit:
		return "MISSED"
	}
	return "not settled (the interval spans the goal)"
}

// bootstrap estimates stat on the rounds of the results and its 95%
// percentile-bootstrap interval: rounds are drawn with replacement, and
// since Alternate takes one sample of every case per round, the samples
// of one round are drawn together (the comparison stays paired). The
// random source is seeded, so a run's interval is reproducible from its
// samples.
func bootstrap(stat func(q func(r int, q float64) float64) float64, resamples int, rs ...Result) Interval {
	n := len(rs[0].Samples)
	for _, r := range rs {
		n = min(n, len(r.Samples))
	}
	if n == 0 {
		return Interval{Est: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	quant := func(idx []int) func(r int, q float64) float64 {
		return func(r int, q float64) float64 {
			s := make([]float64, len(idx))
			for i, k := range idx {
				s[i] = float64(rs[r].Samples[k])
			}
			sort.Float64s(s)
			return quantile(s, q)
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	est := stat(quant(all))
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	vals := make([]float64, 0, resamples)
	idx := make([]int, n)
	for b := 0; b < resamples; b++ {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		if v := stat(quant(idx)); !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals = append(vals, v)
		}
	}
	dropped := resamples - len(vals)
	if len(vals) == 0 {
		return Interval{Est: est, Lo: math.NaN(), Hi: math.NaN(), Dropped: dropped, Resamples: resamples}
	}
	sort.Float64s(vals)
	return Interval{Est: est, Lo: quantile(vals, 0.025), Hi: quantile(vals, 0.975), Dropped: dropped, Resamples: resamples}
}

func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// CompareCI is a/b of the medians with its bootstrap interval.
func CompareCI(a, b Result, resamples int) Interval {
	return bootstrap(func(q func(int, float64) float64) float64 {
		return q(0, 0.5) / q(1, 0.5)
	}, resamples, a, b)
}

// OverheadCI is Overhead's median ratio — (a − base) / (floor − base) —
// with its bootstrap interval.
func OverheadCI(a, floor, base Result, resamples int) Interval {
	return bootstrap(func(q func(int, float64) float64) float64 {
		den := q(1, 0.5) - q(2, 0.5)
		if den <= 0 {
			return math.NaN()
		}
		return (q(0, 0.5) - q(2, 0.5)) / den
	}, resamples, a, floor, base)
}

// Reload puts each file's pages in the page cache in the state a program
// has after it was first loaded from disk: it drops the cached pages
// (POSIX_FADV_DONTNEED) and reads the file back. How a binary's pages came
// into the cache — written by the Go linker through a mapping, by write(2)
// in an install, or read from disk — changes how fast it starts by
// 0.1–0.2 ms on this kernel (folio sizes), which is as much as a wrapper
// costs; the benches reload every contestant so none is favoured.
func Reload(paths ...string) error {
	for _, p := range paths {
		if err := reload(p); err != nil {
			return fmt.Errorf("reloading %s into the page cache: %w", p, err)
		}
	}
	return nil
}
