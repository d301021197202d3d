package tokenbucket

import "time"

// Bucket is a token bucket rate limiter.
type Bucket struct {
	capacity    int
	refillEvery time.Duration
	tokens      int
	// last is the start of the refill period in progress.
	last time.Time
}

// New returns a full bucket.
func New(capacity int, refillEvery time.Duration, now time.Time) *Bucket {
	if capacity < 1 || refillEvery <= 0 {
		panic("tokenbucket: capacity must be >= 1 and refillEvery > 0")
	}
	return &Bucket{capacity: capacity, refillEvery: refillEvery, tokens: capacity, last: now}
}

func (b *Bucket) refill(now time.Time) {
	if now.Before(b.last) {
		now = b.last
	}
	if b.tokens >= b.capacity {
		b.last = now
		return
	}
	periods := int(now.Sub(b.last) / b.refillEvery)
	if periods == 0 {
		return
	}
	b.tokens += periods
	b.last = b.last.Add(time.Duration(periods) * b.refillEvery)
	if b.tokens >= b.capacity {
		b.tokens = b.capacity
		b.last = now
	}
}

// Allow takes cost tokens if they are available.
func (b *Bucket) Allow(now time.Time, cost int) bool {
	b.refill(now)
	if cost <= 0 {
		return true
	}
	if cost > b.tokens {
		return false
	}
	b.tokens -= cost
	return true
}

// Tokens reports the tokens available at now.
func (b *Bucket) Tokens(now time.Time) int {
	b.refill(now)
	return b.tokens
}
