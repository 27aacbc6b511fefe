package demoapp

import (
	"strings"
	"unicode"
)

// Catalogue is the emoji that can be voted for, in display order: a subset of upstream
// Emojivoto's, each with its Vote RPC in emojivoto.v1.VotingService.
var Catalogue = []Emoji{
	{"💩", ":poop:"}, {"😂", ":joy:"}, {"😎", ":sunglasses:"}, {"☺️", ":relaxed:"},
	{"😜", ":stuck_out_tongue_winking_eye:"}, {"🤑", ":money_mouth_face:"}, {"😳", ":flushed:"},
	{"😷", ":mask:"}, {"🤓", ":nerd_face:"}, {"👻", ":ghost:"}, {"☠️", ":skull_and_crossbones:"},
	{"😻", ":heart_eyes_cat:"}, {"🙉", ":hear_no_evil:"}, {"🙈", ":see_no_evil:"}, {"🙊", ":speak_no_evil:"},
	{"🌈", ":rainbow:"}, {"👍", ":thumbsup:"}, {"👋", ":wave:"}, {"👏", ":clap:"}, {"🙌", ":raised_hands:"},
	{"🙏", ":pray:"}, {"🐶", ":dog:"}, {"🐈", ":cat2:"}, {"🐷", ":pig:"}, {"🍕", ":pizza:"}, {"🌮", ":taco:"},
	{"🍜", ":ramen:"}, {"🍩", ":doughnut:"}, {"🍺", ":beer:"}, {"🎉", ":tada:"}, {"🏆", ":trophy:"},
	{"🏈", ":football:"}, {"🎲", ":dice:"}, {"🎱", ":8ball:"}, {"💡", ":bulb:"}, {"🔮", ":crystal_ball:"},
	{"💯", ":100:"}, {"🤞", ":crossed_fingers:"},
}

// VoteMethod returns the VotingService RPC that counts a vote for shortcode, as upstream names
// it: ":stuck_out_tongue_winking_eye:" -> "VoteStuckOutTongueWinkingEye".
func VoteMethod(shortcode string) string {
	var b strings.Builder
	b.WriteString("Vote")
	for _, part := range strings.Split(strings.Trim(shortcode, ":"), "_") {
		r := []rune(part)
		if len(r) == 0 {
			continue
		}
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

func findEmoji(shortcode string) (Emoji, bool) {
	for _, e := range Catalogue {
		if e.Shortcode == shortcode {
			return e, true
		}
	}
	return Emoji{}, false
}
