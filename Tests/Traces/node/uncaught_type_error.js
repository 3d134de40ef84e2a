// An uncaught TypeError thrown from a nested call: location, source line, caret, error, frames,
// "Node.js vN".
console.log(JSON.stringify({ level: "info", msg: "request received" }));
function total(order) {
  return order.items.reduce((sum, item) => sum + item.price, 0);
}
function handle(request) {
  return total(request.order);
}
console.log("handling request 17");
handle({ order: undefined });
