// A runtime error in a goroutine: the trace ends with the frame that created it.
package main

import (
	"fmt"
	"sync"
	"time"
)

func worker(id int, wg *sync.WaitGroup) {
	defer wg.Done()
	var counts map[string]int
	if id == 2 {
		counts["requests"]++
	}
	time.Sleep(time.Second)
}

func main() {
	fmt.Println("level=info msg=\"starting workers\" count=3")
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go worker(i, &wg)
	}
	wg.Wait()
}
