module github.com/go-course/part4-infrastructure/07-containers

go 1.26

require github.com/go-course/part4-infrastructure/testkit v0.0.0

replace github.com/go-course/part4-infrastructure/testkit => ../testkit
