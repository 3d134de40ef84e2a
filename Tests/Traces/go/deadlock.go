// The runtime finds every goroutine blocked: "fatal error:" and a block per goroutine.
package main

import (
	"fmt"
	"sync"
)

func main() {
	var mu sync.Mutex
	jobs := make(chan int)
	for i := 0; i < 2; i++ {
		go func() {
			mu.Lock()
			<-jobs
		}()
	}
	fmt.Println("level=info msg=\"waiting for jobs\"")
	<-jobs
}
