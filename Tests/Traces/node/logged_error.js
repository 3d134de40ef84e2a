// console.error of a caught error: the error and its frames, between ordinary lines.
console.log("worker started");
function parse(text) {
  return JSON.parse(text);
}
try {
  parse("{ not json");
} catch (error) {
  console.log("2026-12-01T10:00:00.123Z ERROR failed to parse the payload");
  console.error(error);
}
console.log("worker still running");
