module github.com/go-course/part4-infrastructure/testkit

go 1.26
