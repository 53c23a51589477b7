package benchkit

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestQuantiles(t *testing.T) {
	r := Result{Samples: []time.Duration{5, 1, 3, 2, 4}}
	if r.Median() != 3 || r.Q1() != 2 || r.Q3() != 4 {
		t.Fatalf("median %v q1 %v q3 %v", r.Median(), r.Q1(), r.Q3())
	}
	if got := (Result{Samples: []time.Duration{1, 2}}).Median(); got != 1 {
		// interpolated 1.5ns truncates to 1
		t.Fatalf("median of {1,2} = %v", got)
	}
	if (Result{}).Median() != 0 {
		t.Fatal("empty median")
	}
}

func TestAlternateOrderAndErrors(t *testing.T) {
	var order []string
	mk := func(name string, d time.Duration) Case {
		return Case{Name: name, Run: func() (time.Duration, error) { order = append(order, name); return d, nil }}
	}
	res, err := Alternate(1, 2, mk("a", 10), mk("b", 20))
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Samples) != 2 || len(res[1].Samples) != 2 {
		t.Fatalf("samples: %+v", res)
	}
	want := []string{"a", "b", "b", "a", "a", "b"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if r := Compare(res[1], res[0]); r.Median != 2 || r.Q1 != 2 {
		t.Fatalf("ratio %+v", r)
	}
	_, err = Alternate(0, 1, Case{Name: "x", Run: func() (time.Duration, error) { return 0, errors.New("boom") }})
	if err == nil || err.Error() != "x: boom" {
		t.Fatalf("err %v", err)
	}
}

func TestOverhead(t *testing.T) {
	base := Result{Samples: []time.Duration{100, 100, 100}}
	floor := Result{Samples: []time.Duration{110, 110, 110}}
	a := Result{Samples: []time.Duration{112, 112, 112}}
	if r := Overhead(a, floor, base); math.Abs(r.Median-1.2) > 1e-9 {
		t.Fatalf("overhead %+v", r)
	}
	if r := Overhead(a, base, base); !math.IsNaN(r.Median) {
		t.Fatalf("zero floor overhead should be NaN, got %+v", r)
	}
}
