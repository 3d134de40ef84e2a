// An index out of range while other goroutines wait: with GOTRACEBACK=all every goroutine is
// dumped, with GOTRACEBACK=system the runtime's frames too.
package main

import (
	"fmt"
	"os"
	"time"
)

func waitFor(jobs chan int) { <-jobs }

func main() {
	jobs := make(chan int)
	for i := 0; i < 3; i++ {
		go waitFor(jobs)
	}
	go func() { time.Sleep(time.Hour) }()
	time.Sleep(50 * time.Millisecond)
	fmt.Println("level=info msg=\"batch loaded\"")
	items := make([]int, len(os.Args)-1)
	fmt.Println(items[5])
}
