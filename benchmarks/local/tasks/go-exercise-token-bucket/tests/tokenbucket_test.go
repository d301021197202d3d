package tokenbucket

import (
	"testing"
	"time"
)

var start = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }

func TestStartsFull(t *testing.T) {
	b := New(3, time.Second, start)
	if got := b.Tokens(start); got != 3 {
		t.Fatalf("Tokens = %d, want 3", got)
	}
}

func TestAllowTakesTokens(t *testing.T) {
	b := New(3, time.Second, start)
	if !b.Allow(at(0), 2) || !b.Allow(at(0), 1) {
		t.Fatal("allowed calls were refused")
	}
	if b.Allow(at(10), 1) {
		t.Fatal("empty bucket allowed a call")
	}
	if b.Tokens(at(10)) != 0 {
		t.Fatal("refused call changed the tokens")
	}
}

func TestRefusedCallTakesNothing(t *testing.T) {
	b := New(3, time.Second, start)
	b.Allow(at(0), 2)
	if b.Allow(at(0), 2) {
		t.Fatal("cost above tokens allowed")
	}
	if got := b.Tokens(at(0)); got != 1 {
		t.Fatalf("Tokens = %d, want 1", got)
	}
}

func TestPartialPeriodsAccumulate(t *testing.T) {
	b := New(2, time.Second, start)
	b.Allow(at(0), 2)
	if got := b.Tokens(at(600)); got != 0 {
		t.Fatalf("at 0.6s Tokens = %d, want 0", got)
	}
	if got := b.Tokens(at(1200)); got != 1 {
		t.Fatalf("at 1.2s Tokens = %d, want 1", got)
	}
	if got := b.Tokens(at(1999)); got != 1 {
		t.Fatalf("at 1.999s Tokens = %d, want 1", got)
	}
	if got := b.Tokens(at(2000)); got != 2 {
		t.Fatalf("at 2s Tokens = %d, want 2", got)
	}
}

func TestNeverAboveCapacity(t *testing.T) {
	b := New(2, time.Second, start)
	if got := b.Tokens(at(60000)); got != 2 {
		t.Fatalf("Tokens = %d, want 2", got)
	}
}

func TestFullBucketDoesNotSaveTime(t *testing.T) {
	b := New(1, time.Second, start)
	// Full for ten seconds, then emptied at 10.5s: the next token comes at 11.5s.
	b.Allow(at(10500), 1)
	if b.Allow(at(11000), 1) {
		t.Fatal("token appeared too early")
	}
	if !b.Allow(at(11500), 1) {
		t.Fatal("token missing after a full period")
	}
}

func TestZeroCost(t *testing.T) {
	b := New(1, time.Second, start)
	b.Allow(at(0), 1)
	if !b.Allow(at(0), 0) || !b.Allow(at(0), -2) {
		t.Fatal("zero or negative cost refused")
	}
	if b.Tokens(at(0)) != 0 {
		t.Fatal("negative cost added tokens")
	}
}

func TestTimeGoingBackwards(t *testing.T) {
	b := New(2, time.Second, start)
	b.Allow(at(5000), 2)
	if got := b.Tokens(at(1000)); got != 0 {
		t.Fatalf("Tokens at an earlier time = %d, want 0", got)
	}
	if got := b.Tokens(at(6000)); got != 1 {
		t.Fatalf("Tokens = %d, want 1", got)
	}
}

func TestNewPanics(t *testing.T) {
	for _, args := range []struct {
		capacity int
		every    time.Duration
	}{{0, time.Second}, {1, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d, %v) did not panic", args.capacity, args.every)
				}
			}()
			New(args.capacity, args.every, start)
		}()
	}
}
