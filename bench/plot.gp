# bench/plot.gp - the chart of bench/run.
# gnuplot -e "dir='DATADIR'; out='FILE.png'; title='...'" bench/plot.gp
# DATADIR holds smtp-sink.dat, smtpc-sink.dat (client, msgs/s 1 rcpt, 10 rcpts),
# rtt.dat (client, round trips/msg 1 rcpt, 10 rcpts), cpu.dat (client,
# instructions/msg, syscalls/msg), big.dat (client, MB/s, peak RSS MB).

if (!exists("dir")) dir = "."
if (!exists("out")) out = "bench.png"
if (!exists("title")) title = "smtpc benchmark"

set terminal pngcairo size 1500,1350 font "sans,9"
set output out
set datafile separator whitespace
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set xtics rotate by -30 left nomirror
set key top right
set bmargin 6

set multiplot layout 3,2 title title font "sans,13"

set title "msgs/s, one connection, Postfix smtp-sink (higher is better)"
set ylabel "msgs/s"
plot dir."/smtp-sink.dat" using 2:xtic(1) title "1 rcpt" lc rgb "#1f77b4", \
     '' using 3 title "10 rcpts" lc rgb "#ff7f0e"

set title "msgs/s, one connection, smtpc-sink (higher is better)"
plot dir."/smtpc-sink.dat" using 2:xtic(1) title "1 rcpt" lc rgb "#1f77b4", \
     '' using 3 title "10 rcpts" lc rgb "#ff7f0e"

set title "round trips per message (lower is better; target 1.1 with PIPELINING)"
set ylabel "round trips / msg"
set yrange [0:*]
set key top left
plot dir."/rtt.dat" using 2:xtic(1) title "1 rcpt" lc rgb "#1f77b4", \
     '' using 3 title "10 rcpts" lc rgb "#ff7f0e", \
     1.1 with lines dt 2 lc rgb "black" title "1.1"

set title "instructions per message, 1 rcpt (log scale; target 25,000)"
set key top right
set ylabel "instructions / msg"
set logscale y
set yrange [1000:*]
plot dir."/cpu.dat" using 2:xtic(1) title "instructions/msg" lc rgb "#2ca02c", \
     25000 with lines dt 2 lc rgb "black" title "25,000"
unset logscale y

set title "system calls per message, 1 rcpt"
set ylabel "syscalls / msg"
set yrange [0:*]
plot dir."/cpu.dat" using 3:xtic(1) title "syscalls/msg" lc rgb "#9467bd"

set title "one 100 MiB message to smtpc-sink: MB/s (bars) and peak RSS MB (labels)"
set ylabel "MB/s"
plot dir."/big.dat" using 2:xtic(1) title "MB/s" lc rgb "#d62728", \
     '' using 0:2:(sprintf("%.1f MB", $3)) with labels offset 0,1 notitle

unset multiplot
