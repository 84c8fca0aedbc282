import { describe, expect, it } from 'vitest';
import { ANSWER_SCHEMA, JUDGE_SCHEMA, judgeReplyShape, judgeShape, QUESTIONS_SCHEMA, questionsShape } from './teacher.js';

describe("the teachers' reply schemas: one source for validation and for the grammar or response_format", () => {
  it('asks with the bounds it validates with', () => {
    const items = (QUESTIONS_SCHEMA.properties as { questions: { minItems: number; maxItems: number; items: { minLength: number; maxLength: number } } }).questions;
    expect(items).toMatchObject({ minItems: 1, maxItems: 8, items: { type: 'string', minLength: 5, maxLength: 300 } });
    expect(questionsShape.safeParse({ questions: ['Why?'] }).success).toBe(false); // 4 characters: below minLength, as the schema says
    expect(questionsShape.safeParse({ questions: Array(9).fill('What is lockout?') }).success).toBe(false);
    expect(questionsShape.safeParse({ questions: ['What is lockout?'] }).success).toBe(true);
    expect(ANSWER_SCHEMA).toMatchObject({ required: ['answer', 'evidence'], additionalProperties: false });
    expect(QUESTIONS_SCHEMA).not.toHaveProperty('$schema');
  });

  it('grades 1 to 5 by an enum (llama.cpp grammars ignore numeric bounds), and reads "4" from an API as 4', () => {
    expect((JUDGE_SCHEMA.properties as { score: { enum: number[] } }).score.enum).toEqual([1, 2, 3, 4, 5]);
    expect(judgeShape.safeParse({ score: 6 }).success).toBe(false);
    expect(judgeReplyShape.parse({ score: ' 4 ' })).toEqual({ score: 4 });
    expect(judgeReplyShape.safeParse({ score: '6' }).success).toBe(false);
    expect(judgeReplyShape.safeParse({ score: 'four' }).success).toBe(false);
  });
});
