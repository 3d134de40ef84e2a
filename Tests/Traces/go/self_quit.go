// SIGQUIT makes the Go runtime dump every goroutine and the registers, then exit 2.
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	fmt.Println("level=info msg=ready")
	syscall.Kill(os.Getpid(), syscall.SIGQUIT)
	time.Sleep(10 * time.Second)
}
