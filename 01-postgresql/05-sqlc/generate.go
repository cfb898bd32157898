package main

//go:generate sqlc generate
