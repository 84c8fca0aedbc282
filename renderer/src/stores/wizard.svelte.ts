import { DEFAULT_EPOCHS, type DeviceChoice, type ModelInfo, type PrecisionChoice } from '$shared/contract';

export type WizardStep = 'documents' | 'model' | 'training' | 'run';
export const WIZARD_STEPS: readonly WizardStep[] = ['documents', 'model', 'training', 'run'];
export type TeacherOption = 'auto' | 'extractive' | 'workspace';
export type DeviceOption = DeviceChoice;
export type PrecisionOption = PrecisionChoice;

/** The "New adapter" wizard's choices, kept while other pages are shown. */
class WizardStore {
  step = $state<WizardStep>('documents');
  /** The model to train, checked by the engine (null until one is chosen). */
  model = $state.raw<ModelInfo | null>(null);
  teacher = $state<TeacherOption>('auto');
  epochs = $state(DEFAULT_EPOCHS);
  device = $state<DeviceOption>('auto');
  precision = $state<PrecisionOption>('auto');
}

export const wizard = new WizardStore();
