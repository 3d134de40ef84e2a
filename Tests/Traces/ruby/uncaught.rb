# An uncaught ZeroDivisionError through nested method calls: the message line, then "from" lines.
$stdout.sync = true
puts '{"level":"info","msg":"computing"}'

def average(values)
  values.sum / values.size
end

def report(groups)
  groups.map { |name, values| [name, average(values)] }
end

puts "reporting 2 groups"
report({ "a" => [1, 2], "b" => [] })
