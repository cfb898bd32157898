package main

import (
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// attempt reads the broker's x-death header: one entry per queue and
// reason, with a count.
func Example_attempt() {
	first := amqp.Delivery{}
	third := amqp.Delivery{Headers: amqp.Table{"x-death": []any{
		amqp.Table{"queue": "orders.retry", "reason": "expired", "count": int64(2)},
		amqp.Table{"queue": "orders.work", "reason": "rejected", "count": int64(2)},
	}}}
	fmt.Println(attempt(first, "orders.work"), attempt(third, "orders.work"))
	// Output: 1 3
}
