// A panic deep in a method chain.
package main

import "fmt"

type server struct{ name string }

func (s *server) handle(depth int) {
	if depth > 2 {
		panic(fmt.Sprintf("handler %s failed at depth %d", s.name, depth))
	}
	s.handle(depth + 1)
}

func main() {
	fmt.Println(`{"level":"info","msg":"listening","port":8080}`)
	(&server{"checkout"}).handle(0)
}
