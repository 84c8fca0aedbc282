/** A line of a document's text with what the source says of its typesetting: what heading rules read. */
export interface Line {
  text: string;
  page: number | null;
  /** Where the source has typesetting (PDF): the size and font most of the line's characters have. */
  size?: number;
  font?: string;
  /** All (nine tenths) of the line is in that font and size. */
  uniform?: boolean;
  /** Its baseline on the page (PDF points, up): lines of one heading follow at the line spacing. */
  y?: number;
  /** In the page's top or bottom margin, where running headers and footers sit. */
  margin?: boolean;
}
