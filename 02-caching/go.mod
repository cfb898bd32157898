module github.com/go-course/part4-infrastructure/02-caching

go 1.26.0

require (
	github.com/go-course/part4-infrastructure/faultproxy v0.0.0
	github.com/go-course/part4-infrastructure/testkit v0.0.0
)

replace github.com/go-course/part4-infrastructure/testkit => ../testkit

replace github.com/go-course/part4-infrastructure/faultproxy => ../faultproxy
