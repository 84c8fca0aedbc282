/** A conversation as the model sees it: what training, chat and evaluation pass around. */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type Conversation = ChatMessage[];
