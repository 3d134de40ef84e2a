# An uncaught error raised while handling another: Ruby prints the cause after the trace.
$stdout.sync = true
puts "loading"

def read_config
  raise IOError, "disk gone"
end

begin
  read_config
rescue IOError
  raise ArgumentError, "cannot load the configuration"
end
