// A rejected promise nobody handled: Node's own location line, the error and its frames.
console.log("fetching");
async function fetchUser(id) {
  throw new RangeError(`user id out of range: ${id}`);
}
fetchUser(-1);
