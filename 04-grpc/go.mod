module github.com/go-course/part4-infrastructure/04-grpc

go 1.26

require github.com/go-course/part4-infrastructure/testkit v0.0.0

replace github.com/go-course/part4-infrastructure/testkit => ../testkit
