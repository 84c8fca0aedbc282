/** Eight short QA pairs about stories (what stories260K can learn), shared by the training and eval tests. */
export const STORY_QA: [question: string, answer: string][] = [
  ['What color is the ball?', 'The ball is red.'],
  ["Who is Lily's friend?", 'Her friend is Tom.'],
  ['Where does the cat sleep?', 'The cat sleeps in the box.'],
  ['What does Ben like to eat?', 'Ben likes to eat cake.'],
  ["What is the dog's name?", 'The dog is named Max.'],
  ['Where did Sue go?', 'Sue went to the park.'],
  ['What did Tim find?', 'Tim found a big shell.'],
  ['Who gave Anna the toy?', 'Her mom gave her the toy.'],
];
