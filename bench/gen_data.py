#!/usr/bin/env python3
"""Generates the benchmark inputs (Python stdlib only), deterministic for a given seed.

  gen_data.py treasury OUT N     ~150-byte {"branch","currency","amount",...} JSON lines
  gen_data.py tweets   OUT N     ~4.6 KB tweets: /work/shared/testdata/tweets-100.jsonl repeated with varied
                                 user.screen_name/id/created_at (tweet-shaped synthetic documents if absent)
  gen_data.py keys     OUT N K   {"key": "k<i mod K>", "v": int} lines, K distinct keys

Writes OUT atomically (OUT.tmp then rename), so an interrupted run never leaves a short cache file.
"""
import json
import os
import random
import sys

TWEETS = "/work/shared/testdata/tweets-100.jsonl"
BRANCHES = ["Kazan", "SPB", "Novosibirsk", "Surgut", "Moscow", "Omsk", "Tomsk", "Perm"]
CURRENCIES = ["RUB", "USD", "EUR", "GBP"]
CHANNELS = ["mobile", "web", "atm", "branch"]
WORDS = ("the a to of and in is it you that he was for on are with as I his they be at one have this from "
         "or had by hot word but what some we can out other were all there when up use your how said an each "
         "#spark #kafka #streaming #data @weir rt http https").split()


def treasury(out, n):
    rnd = random.Random(42)
    for i in range(n):
        doc = {
            "branch": rnd.choice(BRANCHES),
            "currency": rnd.choice(CURRENCIES),
            "amount": rnd.randint(-100000, 100000),
            "id": 10_000_000 + i,
            "account": "40817810%012d" % rnd.randrange(10**12),
            "channel": rnd.choice(CHANNELS),
            "status": "settled",
            "ts": 1_700_000_000_000 + i,
        }
        out.write(json.dumps(doc, separators=(",", ":")) + "\n")


def synthetic_tweet(rnd, i):
    text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 30)))
    user = {
        "id": 1000 + i, "id_str": str(1000 + i), "name": "User %d" % i, "screen_name": "user%d" % i,
        "location": "Somewhere", "description": " ".join(rnd.choice(WORDS) for _ in range(20)),
        "url": None, "entities": {"description": {"urls": []}}, "protected": False,
        "followers_count": rnd.randint(0, 10**5), "friends_count": rnd.randint(0, 1000),
        "listed_count": 3, "created_at": "Sun Aug 31 00:29:15 +0000 2014", "favourites_count": 10,
        "utc_offset": None, "time_zone": None, "geo_enabled": False, "verified": False,
        "statuses_count": 100, "lang": "en", "profile_background_color": "C0DEED",
        "profile_image_url": "http://pbs.twimg.com/profile_images/%d/x_normal.jpeg" % i,
        "profile_image_url_https": "https://pbs.twimg.com/profile_images/%d/x_normal.jpeg" % i,
        "profile_banner_url": "https://pbs.twimg.com/profile_banners/%d/1409318784" % i,
        "profile_link_color": "0084B4", "profile_sidebar_border_color": "C0DEED",
        "default_profile": True, "default_profile_image": False, "following": False,
        "follow_request_sent": False, "notifications": False,
    }
    doc = {
        "metadata": {"result_type": "recent", "iso_language_code": "en"},
        "created_at": "Sun Aug 31 00:29:15 +0000 2014", "id": i, "id_str": str(i), "text": text,
        "source": "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
        "truncated": False, "in_reply_to_status_id": None, "user": user, "geo": None, "coordinates": None,
        "place": None, "contributors": None, "retweet_count": 0, "favorite_count": 0,
        "entities": {"hashtags": [{"text": w[1:], "indices": [0, len(w)]} for w in text.split() if w[0] == "#"],
                     "symbols": [], "urls": [], "user_mentions": []},
        "favorited": False, "retweeted": False, "lang": "en",
    }
    # Pad to the real tweets' size (~4.6 KB) with a nested retweeted_status-like object.
    doc["retweeted_status"] = {"text": text, "user": dict(user), "entities": doc["entities"]}
    return doc


def tweets(out, n):
    rnd = random.Random(7)
    base = []
    if os.path.exists(TWEETS):
        with open(TWEETS, encoding="utf-8") as f:
            base = [json.loads(line) for line in f if line.strip()]
    authors = 20000
    for i in range(n):
        if base:
            doc = dict(base[i % len(base)])
            user = dict(doc.get("user") or {})
        else:
            doc = synthetic_tweet(rnd, i)
            user = doc["user"]
        a = rnd.randrange(authors)
        user["screen_name"] = "author_%05d" % a
        user["id"] = 2_000_000 + a
        user["id_str"] = str(2_000_000 + a)
        doc["user"] = user
        doc["id"] = 600_000_000_000_000_000 + i
        doc["id_str"] = str(doc["id"])
        doc["created_at"] = "Sun Aug 31 %02d:%02d:%02d +0000 2014" % ((i // 3600) % 24, (i // 60) % 60, i % 60)
        out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")


def keys(out, n, k):
    rnd = random.Random(3)
    for i in range(n):
        out.write('{"key":"k%07d","v":%d}\n' % (i % k, rnd.randint(0, 1000)))


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", buffering=1 << 20) as out:
        if kind == "treasury":
            treasury(out, n)
        elif kind == "tweets":
            tweets(out, n)
        elif kind == "keys":
            keys(out, n, int(sys.argv[4]) if len(sys.argv) > 4 else n)
        else:
            print("unknown kind " + kind, file=sys.stderr)
            sys.exit(2)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
