// Package compose checks docker-compose.yml against the stack contract.
package compose
