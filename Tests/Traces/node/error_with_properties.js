// An uncaught system error: its frames, then the error's own properties ({ errno, code, ... }).
const fs = require("fs");
console.log("loading configuration");
fs.readFileSync("/nonexistent/sluice-test/config.json");
