#!/usr/bin/perl
#
# get_title.pl - ask the virtual web service for its page 100 times, a new
# connection each time (no KeepAlive), and print which real server's title
# answered.
#
#   get_title.pl [url [count]]
#
use LWP::UserAgent;

$url   = $ARGV[0] || "http://10.0.0.100/";
$count = $ARGV[1] || 100;

$ua = LWP::UserAgent->new(keep_alive => 0, timeout => 5);

for ($i = 1; $i <= $count; $i++) {
    $res = $ua->get($url);
    if ($res->is_success) {
        $title = $res->content =~ /<title>(.*?)<\/title>/i ? $1 : "(no title)";
        print "$i $title\n";
    } else {
        print "$i error: ", $res->status_line, "\n";
    }
}
