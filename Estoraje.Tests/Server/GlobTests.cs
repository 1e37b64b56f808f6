using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using Estoraje.Server.Commands;

namespace Estoraje.Tests.Server;

public sealed class GlobTests
{
    // Expected results follow Redis's stringmatchlen (util.c), quirks included.
    [Theory]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("a", "", false)]
    [InlineData("*", "anything", true)]
    [InlineData("*", "", false)] // the loop never starts on an empty string: only an empty pattern matches it
    [InlineData("**", "", false)]
    [InlineData("a*", "a", true)]
    [InlineData("a**", "a", true)]
    [InlineData("a*?", "a", false)]
    [InlineData("hello", "hello", true)]
    [InlineData("hello", "Hello", false)]
    [InlineData("hello", "hell", false)]
    [InlineData("hell", "hello", false)]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h?llo", "hllo", false)]
    [InlineData("?", "", false)]
    [InlineData("h*llo", "hllo", true)]
    [InlineData("h*llo", "heeeello", true)]
    [InlineData("h*llo", "heeeell", false)]
    [InlineData("*llo", "hello", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxcyyb", false)]
    [InlineData("user:*:name", "user:42:name", true)]
    [InlineData("h[ae]llo", "hello", true)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-b]llo", "hbllo", true)]
    [InlineData("h[a-b]llo", "hcllo", false)]
    [InlineData("[c-a]", "b", true)] // a reversed range is swapped
    [InlineData("[c-a]", "d", false)]
    [InlineData("[a-c-e]", "-", true)] // after a range, "-e" is a literal '-' then 'e'
    [InlineData("[a-c-e]", "e", true)]
    [InlineData("[a-c-e]", "d", false)]
    [InlineData("[]", "a", false)] // an empty class matches nothing
    [InlineData("[^]", "a", true)]
    [InlineData("[\\]]", "]", true)]
    [InlineData("[\\a]", "a", true)]
    [InlineData("[a-]", "]", true)] // "a-]" is the range ']'..'a'
    [InlineData("[abc", "a", true)] // an unterminated class still matches its characters
    [InlineData("[abc", "d", false)]
    [InlineData("[abc", "ab", false)]
    [InlineData("[a-", "-", true)]
    [InlineData("\\*", "*", true)]
    [InlineData("\\*", "a", false)]
    [InlineData("a\\?b", "a?b", true)]
    [InlineData("a\\?b", "axb", false)]
    [InlineData("\\[a]", "[a]", true)]
    [InlineData("a\\", "a\\", true)] // a trailing backslash matches itself
    [InlineData("*\\*", "abc*", true)]
    public void Pattern_matches_as_redis_does(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Glob.IsMatch(Encoding.Latin1.GetBytes(pattern), Encoding.Latin1.GetBytes(text)));
    }

    [Fact]
    public void Matching_is_binary_safe()
    {
        Assert.True(Glob.IsMatch("a\0*"u8, "a\0bc"u8));
        Assert.False(Glob.IsMatch("a\0*"u8, "a\u0001bc"u8));
        Assert.True(Glob.IsMatch([(byte)'[', 0xff, (byte)']'], [0xff]));
    }

    [Fact]
    public void Pathological_pattern_against_a_long_string_finishes_without_a_match()
    {
        var text = new byte[10_000];
        text.AsSpan().Fill((byte)'a');
        Assert.False(Glob.IsMatch("*a*a*a*a*a*a*a*a*b"u8, text));
    }

    [Fact]
    public void Pathological_pattern_against_a_long_string_finds_the_match_at_its_end()
    {
        var text = new byte[10_001];
        text.AsSpan().Fill((byte)'a');
        text[^1] = (byte)'b';
        Assert.True(Glob.IsMatch("*a*a*a*a*a*a*a*a*b"u8, text));
    }

    [Fact]
    public void Well_formed_pattern_matches_a_non_empty_string_as_the_equivalent_regex_does()
    {
        (string Glob, string Regex)[] tokens =
        [
            ("a", "a"), ("b", "b"), ("*", ".*"), ("?", "."), ("[ab]", "[ab]"), ("[^a]", "[^a]"),
            ("[a-b]", "[a-b]"), ("[b-a]", "[a-b]"), ("\\*", "\\*"), ("\\a", "a"), ("\\?", "\\?"),
        ];
        var pattern = Gen.Int[0, tokens.Length - 1].Array[0, 8];
        var text = Gen.String[Gen.Char["ab*?"], 1, 10];
        Gen.Select(pattern, text).Sample((indexes, s) =>
        {
            var glob = string.Concat(indexes.Select(i => tokens[i].Glob));
            var regex = "\\A(?:" + string.Concat(indexes.Select(i => tokens[i].Regex)) + ")\\z";
            var expected = Regex.IsMatch(s, regex, RegexOptions.Singleline | RegexOptions.CultureInvariant);
            return Glob.IsMatch(Encoding.ASCII.GetBytes(glob), Encoding.ASCII.GetBytes(s)) == expected;
        }, iter: 20_000, print: t => $"{string.Concat(t.Item1.Select(i => tokens[i].Glob))} ~ {t.Item2}");
    }
}
