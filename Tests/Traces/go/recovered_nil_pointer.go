// A nil pointer dereference, recovered and panicked again.
package main

import "fmt"

type order struct{ total int }

func total(o *order) int { return o.total }

func main() {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("order handler: %v", r))
		}
	}()
	fmt.Println("2026-12-01T10:00:00Z INFO processing order")
	fmt.Println(total(nil))
}
